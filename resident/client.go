package resident

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lm"
)

// Options tunes Open.
type Options struct {
	// Progress receives a line when a server has to be started (nil: quiet).
	Progress io.Writer
	// Idle is the idle timeout of a server this call starts (0: $LOGITLENS_RESIDENT_IDLE or 30m).
	Idle time.Duration
	// StartTimeout bounds the wait for a new server to load its model (0: 15 minutes).
	StartTimeout time.Duration
}

// Open returns ref's model as held by its resident server, starting the server
// when there is none (or only a stale socket of a dead one). The model's Config
// and Tokenizer are read here from the server's model folder; everything that
// needs the weights is a request to the server.
func Open(ref string, opts Options) (*gpt2.Model, error) {
	c := &client{ref: ref, opts: opts}
	h, err := c.connect()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(h.Dir); err != nil { // its folder was deleted since it loaded: replace it
		c.close()
		Stop(ref)
		if h, err = c.connect(); err != nil {
			return nil, err
		}
	}
	cfg, err := lm.LoadConfig(h.Dir)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("resident: %w", err)
	}
	tok, err := lm.LoadTokenizer(h.Dir)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("resident: %w", err)
	}
	return gpt2.NewRemote(cfg, tok, h.Ref, h.Dir, h.Backend+" (resident server, pid "+fmt.Sprint(h.PID)+")", c), nil
}

// Stop asks ref's server to exit; no server is not an error.
func Stop(ref string) error {
	sock, err := SocketPath(ref)
	if err != nil {
		return err
	}
	conn, enc, dec, _, err := dial(sock)
	if err != nil {
		return nil // nothing listening
	}
	defer conn.Close()
	if err := enc.Encode(request{Method: methodShutdown}); err != nil {
		return fmt.Errorf("resident: stop: %w", err)
	}
	var resp response
	if err := dec.Decode(&resp); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("resident: stop: %w", err)
	}
	return nil
}

// ServerPID returns the process id of ref's running server (0 when none answers).
func ServerPID(ref string) int {
	sock, err := SocketPath(ref)
	if err != nil {
		return 0
	}
	conn, _, _, h, err := dial(sock)
	if err != nil {
		return 0
	}
	conn.Close()
	return h.PID
}

// client is a connection to one server; it implements gpt2.Remote.
type client struct {
	ref  string
	opts Options

	mu   sync.Mutex // one call at a time on the connection
	conn net.Conn
	enc  *gob.Encoder
	dec  *gob.Decoder
	pid  int
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// Call implements gpt2.Remote. A connection found dead before the request is sent
// (the server exited or was killed since the last call) is replaced by a new
// server; a server that dies during the request is reported, and the next call
// starts a new one.
func (c *client) Call(method string, args, reply any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && c.roundTrip(request{Method: methodPing}, nil) != nil {
		c.close()
	}
	if c.conn == nil {
		if _, err := c.connect(); err != nil {
			return err
		}
	}
	payload, err := encode(args)
	if err != nil {
		return fmt.Errorf("resident: cannot send %s to the server: %w", method, err)
	}
	var resp response
	if err := c.roundTrip(request{Method: method, Args: payload}, &resp); err != nil {
		c.close()
		return fmt.Errorf("resident: the server of %s (pid %d) stopped while answering %s (%v); the next call starts a new one", c.ref, c.pid, method, err)
	}
	if resp.Err != "" {
		return errors.New(resp.Err)
	}
	if err := decode(resp.Reply, reply); err != nil {
		return fmt.Errorf("resident: the answer to %s is not what this program expects (%v): the server may be from another version; stop it and run again", method, err)
	}
	return nil
}

func (c *client) roundTrip(req request, resp *response) error {
	deadline := time.Now().Add(2 * time.Second)
	if req.Method != methodPing {
		deadline = time.Time{}
	}
	c.conn.SetDeadline(deadline)
	defer c.conn.SetDeadline(time.Time{})
	if err := c.enc.Encode(req); err != nil {
		return err
	}
	var r response
	if err := c.dec.Decode(&r); err != nil {
		return err
	}
	if resp != nil {
		*resp = r
	}
	return nil
}

// dial connects to sock and says hello.
func dial(sock string) (net.Conn, *gob.Encoder, *gob.Decoder, helloReply, error) {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, nil, helloReply{}, err
	}
	enc, dec := gob.NewEncoder(conn), gob.NewDecoder(conn)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var h helloReply
	if err := enc.Encode(hello{Protocol: Protocol}); err != nil {
		conn.Close()
		return nil, nil, nil, h, err
	}
	if err := dec.Decode(&h); err != nil {
		conn.Close()
		return nil, nil, nil, h, fmt.Errorf("%w (%v)", errNotServer, err)
	}
	conn.SetDeadline(time.Time{})
	if h.Protocol != Protocol || h.Err != "" {
		conn.Close()
		return nil, nil, nil, h, versionError(h.Protocol, sock)
	}
	return conn, enc, dec, h, nil
}

// connect finds ref's server or starts one, holding the start lock so that two
// programs starting at once make one server.
func (c *client) connect() (helloReply, error) {
	sock, err := SocketPath(c.ref)
	if err != nil {
		return helloReply{}, err
	}
	try := func() (helloReply, error) {
		conn, enc, dec, h, err := dial(sock)
		if err != nil {
			return h, err
		}
		c.conn, c.enc, c.dec, c.pid = conn, enc, dec, h.PID
		return h, nil
	}
	h, err := try()
	if err == nil || isProtocolError(err) {
		return h, err
	}
	unlock, err := lockFile(strings.TrimSuffix(sock, ".sock") + ".lock")
	if err != nil {
		return helloReply{}, err
	}
	defer unlock()
	if h, err := try(); err == nil || isProtocolError(err) { // another program started it meanwhile
		return h, err
	}
	if err := c.start(sock); err != nil {
		return helloReply{}, err
	}
	return try()
}

func isProtocolError(err error) bool {
	return errors.Is(err, errOtherVersion) || errors.Is(err, errNotServer)
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("resident: lock %s: %w", path, err)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// start runs a copy of this executable as ref's server, detached from this
// program (its own session: it outlives the cell that started it), and waits
// until it listens, or reports why it could not.
func (c *client) start(sock string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("resident: cannot find this program's executable to start a server: %w (set %s=0)", err, EnvDisable)
	}
	base := strings.TrimSuffix(sock, ".sock")
	bin := base + ".server"
	if err := copyFile(exe, bin); err != nil {
		return fmt.Errorf("resident: %w", err)
	}
	logPath := base + ".log"
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("resident: %w", err)
	}
	defer logFile.Close()
	idle := c.opts.Idle
	if idle == 0 {
		idle = DefaultIdle
		if d, err := time.ParseDuration(os.Getenv(EnvIdle)); err == nil && d > 0 {
			idle = d
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(serverEnv(), envServe+"="+c.ref, envSocket+"="+sock, EnvIdle+"="+idle.String())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "resident: starting a server for %s (it loads the model once; later programs reuse it)…\n", c.ref)
	}
	if err := cmd.Start(); err != nil {
		os.Remove(bin)
		return fmt.Errorf("resident: start a server: %w (set %s=0 to load the model in this program)", err, EnvDisable)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timeout := c.opts.StartTimeout
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	for {
		select {
		case err := <-exited:
			os.Remove(bin)
			return &StartError{Message: lastLines(logPath), Exit: err}
		case <-time.After(40 * time.Millisecond):
		}
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			if c.opts.Progress != nil {
				fmt.Fprintf(c.opts.Progress, "resident: server ready in %.1fs (pid %d)\n", time.Since(t0).Seconds(), cmd.Process.Pid)
			}
			cmd.Process.Release()
			return nil
		}
		if time.Since(t0) > timeout {
			cmd.Process.Kill()
			return fmt.Errorf("resident: the server for %s did not start within %v; its log: %s", c.ref, timeout, logPath)
		}
	}
}

// serverEnv is this program's environment without what ties it to its parent:
// GoNB's display pipes (GONB_*) belong to the cell that started the server.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GONB_") {
			env = append(env, kv)
		}
	}
	return env
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o700)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, to)
}

// StartError is a server that exited before it served: Message is what it said
// (a model that cannot be loaded: the loader's own error message).
type StartError struct {
	Message string
	Exit    error
}

func (e *StartError) Error() string { return e.Message }

// lastLines is the end of a server's log: what it said before exiting.
func lastLines(path string) string {
	data, _ := os.ReadFile(path)
	text := strings.TrimSpace(string(data))
	if text == "" {
		return "resident: the server exited without a message (log " + filepath.Base(path) + ")"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}
