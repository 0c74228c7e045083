package resident

import (
	"encoding/gob"
	"encoding/json"
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
)

// Environment of a server started by a client: what to load and where to listen.
const (
	envServe     = "LOGITLENS_RESIDENT_SERVE"      // the model reference
	envServeLoad = "LOGITLENS_RESIDENT_LOAD"       // its load options (Options.Load)
	envServeSock = "LOGITLENS_RESIDENT_SERVE_SOCK" // the socket
)

// Options tunes Open.
type Options struct {
	// Progress receives a line when a server has to be built or started (nil: quiet).
	Progress io.Writer
	// Idle is the idle timeout of a server this call starts (0: $LOGITLENS_RESIDENT_IDLE or 30m).
	Idle time.Duration
	// StartTimeout bounds the wait for a new server to load its model (0: 15 minutes).
	StartTimeout time.Duration
	// Load carries the load options to the server, in the form its loader reads
	// (lensnb's); servers of other load options are other servers.
	Load string
}

// Conn is a connection to the server of one model; it is safe for concurrent use
// (calls take turns).
type Conn struct {
	ref  string
	opts Options

	mu    sync.Mutex // one call at a time on the connection
	conn  net.Conn
	enc   *gob.Encoder
	dec   *gob.Decoder
	info  Info
	build string // the build this client expects ("" accepts any)
}

// Open connects to the server of ref (with opts.Load), starting one when there is
// none (or only a stale socket of a dead one, or one built from other sources, or
// one whose model folder was deleted). With EnvSocket set it connects to that
// socket only, and never starts or replaces a server.
func Open(ref string, opts Options) (*Conn, error) {
	c := &Conn{ref: ref, opts: opts}
	if err := c.expectBuild(); err != nil {
		return nil, err
	}
	if _, err := c.connect(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.info.Dir); err != nil && os.Getenv(EnvSocket) == "" { // its folder was deleted since it loaded: replace it
		c.Close()
		Stop(ref, opts.Load)
		if _, err := c.connect(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// expectBuild sets the build of the sources this program comes from, which a
// server must have been built from (none: any server of this protocol will do).
func (c *Conn) expectBuild() error {
	if os.Getenv(EnvServerBinary) != "" {
		return nil
	}
	root, err := ModuleRoot()
	if err != nil {
		if os.Getenv(EnvSocket) != "" {
			return nil // a server elsewhere, and no sources here to compare with
		}
		return err
	}
	c.build, err = BuildID(root)
	return err
}

// Info is what the server said of itself.
func (c *Conn) Info() Info { return c.info }

// Close closes the connection (the server goes on).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.close()
	return nil
}

func (c *Conn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// Stop asks the server of ref (with load options load) to exit; no server is not
// an error. A server at EnvSocket is not this program's to stop: Stop leaves it.
func Stop(ref, load string) error {
	if os.Getenv(EnvSocket) != "" {
		return nil
	}
	sock, err := SocketPath(ref, load)
	if err != nil {
		return err
	}
	return stopAt(sock)
}

// StopAll asks every server of ref to exit, whatever its load options (a server
// at EnvSocket excepted).
func StopAll(ref string) error {
	if os.Getenv(EnvSocket) != "" {
		return nil
	}
	dir, err := RuntimeDir()
	if err != nil {
		return err
	}
	socks, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	for _, sock := range socks {
		conn, _, _, h, err := dial(sock)
		if err != nil {
			continue
		}
		conn.Close()
		if strings.EqualFold(canonical(h.Info.Requested), canonical(ref)) {
			if err := stopAt(sock); err != nil {
				return err
			}
		}
	}
	return nil
}

func stopAt(sock string) error {
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
	// Wait until it no longer answers, so that a new server can take the socket.
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", sock); err != nil {
			break
		} else {
			c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// ServerPID returns the process id of the running server of ref (0 when none answers).
func ServerPID(ref, load string) int {
	sock, err := SocketPath(ref, load)
	if err != nil {
		return 0
	}
	conn, _, _, h, err := dial(sock)
	if err != nil {
		return 0
	}
	conn.Close()
	return h.Info.PID
}

// Call sends method with args and decodes the answer into reply (a pointer).
// Events the server sends before its answer go to onEvent (nil: dropped), which
// decodes each with the function it is given. A connection found dead before the
// request is sent (the server exited or was killed since the last call) is
// replaced by a new server; a server that dies during the request is reported,
// and the next call starts a new one. An error the server returns is a
// *RemoteError.
func (c *Conn) Call(method string, args, reply any, onEvent func(decode func(any) error) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && c.ping() != nil {
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
	died := func(err error) error {
		c.close()
		return fmt.Errorf("resident: the server of %s (pid %d) stopped while answering %s (%v); the next call starts a new one", c.ref, c.info.PID, method, err)
	}
	if err := c.enc.Encode(request{Method: method, Args: payload}); err != nil {
		return died(err)
	}
	for {
		var resp response
		if err := c.dec.Decode(&resp); err != nil {
			return died(err)
		}
		if resp.IsEvent {
			if onEvent != nil {
				if err := onEvent(func(v any) error { return decode(resp.Event, v) }); err != nil {
					return err
				}
			}
			continue
		}
		if resp.Err != nil {
			return resp.Err
		}
		if err := decode(resp.Reply, reply); err != nil {
			return fmt.Errorf("resident: the answer to %s is not what this program expects (%v): the server may be from another version; stop it and run again", method, err)
		}
		return nil
	}
}

// ping checks the connection with a round trip of two seconds at most.
func (c *Conn) ping() error {
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.conn.SetDeadline(time.Time{})
	if err := c.enc.Encode(request{Method: methodPing}); err != nil {
		return err
	}
	var r response
	return c.dec.Decode(&r)
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
func (c *Conn) connect() (helloReply, error) {
	sock, err := SocketPath(c.ref, c.opts.Load)
	if err != nil {
		return helloReply{}, err
	}
	named := os.Getenv(EnvSocket) != ""
	try := func() (helloReply, error) {
		conn, enc, dec, h, err := dial(sock)
		if err != nil {
			return h, err
		}
		if c.build != "" && h.Info.Build != c.build {
			conn.Close()
			return h, &otherBuildError{sock: sock, theirs: h.Info.Build, ours: c.build}
		}
		if named && c.ref != "" && h.Info.Requested != "" && canonical(c.ref) != canonical(h.Info.Requested) {
			conn.Close()
			return h, fmt.Errorf("resident: the server at %s=%s serves %q, not %q: ask for that model, or start a server for %q", EnvSocket, sock, h.Info.Requested, c.ref, c.ref)
		}
		c.conn, c.enc, c.dec, c.info = conn, enc, dec, h.Info
		return h, nil
	}
	h, err := try()
	var ob *otherBuildError
	switch {
	case err == nil || isProtocolError(err):
		return h, err
	case named && errors.As(err, &ob):
		return h, fmt.Errorf("resident: the server at %s=%s was built from other sources (build %s; this program's: %s): check out the same commit on both sides, or restart that server from this one's sources", EnvSocket, sock, ob.theirs, ob.ours)
	case named:
		return h, fmt.Errorf("resident: no model server answers at %s=%s (%v): start one there (go run ./cmd/logitlens-server -model REF -socket PATH), or unset %s", EnvSocket, sock, err, EnvSocket)
	}
	unlock, err := lockFile(strings.TrimSuffix(sock, ".sock") + ".lock")
	if err != nil {
		return helloReply{}, err
	}
	defer unlock()
	h, err = try()
	if err == nil || isProtocolError(err) { // another program started it meanwhile
		return h, err
	}
	if errors.As(err, &ob) { // built from other sources: replace it
		if c.opts.Progress != nil {
			fmt.Fprintf(c.opts.Progress, "resident: the model server of %s was built from other sources; replacing it\n", c.ref)
		}
		stopAt(sock)
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

// start runs the server program for ref, detached from this program (its own
// session: it outlives the cell that started it), and waits until it listens, or
// reports why it could not.
func (c *Conn) start(sock string) error {
	bin, _, err := ServerBinary(c.opts.Progress)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(sock, ".sock")
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
	cmd.Env = append(serverEnv(), envServe+"="+c.ref, envServeLoad+"="+c.opts.Load, envServeSock+"="+sock, EnvIdle+"="+idle.String())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "resident: starting a server for %s (it loads the model once; later programs reuse it)…\n", c.ref)
	}
	if err := cmd.Start(); err != nil {
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
			return startError(logPath, err)
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

// otherBuildError is a server built from other sources than this program's.
type otherBuildError struct{ sock, theirs, ours string }

func (e *otherBuildError) Error() string {
	return fmt.Sprintf("resident: the server at %s was built from other sources (%s, not %s)", e.sock, e.theirs, e.ours)
}

// StartError is a server that exited before it served: Message is what it said
// (a model that cannot be loaded: the loader's own error message), Remote the
// error with its type when the server reported one (ReportStartFailure).
type StartError struct {
	Message string
	Exit    error
	Remote  *RemoteError
}

func (e *StartError) Error() string { return e.Message }

// Unwrap gives the server's typed error, when it reported one.
func (e *StartError) Unwrap() error {
	if e.Remote == nil {
		return nil
	}
	return e.Remote
}

// startFailurePrefix marks the line where a server that cannot start reports its
// error with its type.
const startFailurePrefix = "logitlens-server-error: "

// ReportStartFailure writes err to standard error as a server that cannot start
// reports it: its message, and a last line that gives the client its type.
func ReportStartFailure(err error) {
	fmt.Fprintln(os.Stderr, err)
	if data, jerr := json.Marshal(remoteError(err)); jerr == nil {
		fmt.Fprintln(os.Stderr, startFailurePrefix+string(data))
	}
}

// startError is the error of a server that exited with exit before it served,
// read from its log.
func startError(logPath string, exit error) *StartError {
	data, _ := os.ReadFile(logPath)
	e := &StartError{Exit: exit}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if rest, ok := strings.CutPrefix(l, startFailurePrefix); ok {
			var r RemoteError
			if json.Unmarshal([]byte(rest), &r) == nil {
				e.Remote = &r
			}
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	e.Message = strings.TrimSpace(strings.Join(lines, "\n"))
	if e.Remote != nil {
		e.Message = e.Remote.Message
	}
	if e.Message == "" {
		e.Message = "resident: the model server exited without a message (log " + filepath.Base(logPath) + ")"
	}
	return e
}
