// Package resident keeps a model loaded in a background process — the model
// server — so that programs that each live for a moment (every Jupyter cell under
// GoNB is a new program) use weights loaded once and graphs compiled once, and do
// not link the engine at all.
//
// One server holds one model reference. A client (Open) finds the server of its
// reference through a Unix socket in a per-user runtime folder (0700; the socket
// 0600: no other user of a shared machine can reach it; no TCP), or starts one: the
// server program (cmd/logitlens-server), built once per source tree into the user
// cache (ServerBinary), run detached, which loads the model and answers requests
// until it has been idle for the idle timeout (default 30 minutes) or is asked to
// stop. A server built from other sources than the client's is replaced, never
// used. The socket can also be named (EnvSocket): a server on another machine,
// reached through `ssh -L`.
//
// This package is the transport: requests are a method name and gob-encoded
// arguments; a request may stream events before its answer; an error keeps its
// type when it implements WireError. Package lensnb gives the requests their
// meaning, on both sides.
package resident

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Protocol is the version of the request protocol. A client and a server of
// different versions refuse each other with a message that says so; the socket's
// name carries the version, so that a new client starts its own server.
const Protocol = 2

// Environment variables.
const (
	// EnvDisable, set to "0", makes lensnb.OpenModel load the model in-process
	// (a program that links package engine; a notebook cell then costs seconds).
	EnvDisable = "LOGITLENS_RESIDENT"
	// EnvSocket names the socket of a server started by hand (logitlens-server
	// -socket PATH), here or at the end of `ssh -L local.sock:remote.sock`: clients
	// use it for every model reference it serves, and never start or stop it.
	EnvSocket = "LOGITLENS_RESIDENT_SOCKET"
	// EnvIdle is how long a server waits without requests before it exits
	// (a Go duration: "30m", "2h"; default 30m).
	EnvIdle = "LOGITLENS_RESIDENT_IDLE"
	// EnvDir overrides the runtime folder of the sockets.
	EnvDir = "LOGITLENS_RESIDENT_DIR"
	// EnvServerBinary names a server program to use instead of building one.
	EnvServerBinary = "LOGITLENS_SERVER_BIN"
)

// DefaultIdle is how long a server stays without requests.
const DefaultIdle = 30 * time.Minute

// Enabled reports whether models should be resident (EnvDisable is not "0").
func Enabled() bool { return strings.TrimSpace(os.Getenv(EnvDisable)) != "0" }

// RuntimeDir returns the private folder of the sockets, creating it (0700) when
// needed: $LOGITLENS_RESIDENT_DIR, else $XDG_RUNTIME_DIR/logitlens, else
// <temp>/logitlens-<uid>. A folder that another user owns or others can enter is
// refused.
func RuntimeDir() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			dir = filepath.Join(x, "logitlens")
		} else {
			dir = filepath.Join(os.TempDir(), "logitlens-"+strconv.Itoa(os.Getuid()))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("resident: runtime folder: %w", err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("resident: runtime folder: %w", err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	switch {
	case !info.IsDir():
		return "", fmt.Errorf("resident: runtime folder %s is not a folder (a link?): remove it", dir)
	case ok && int(st.Uid) != os.Getuid():
		return "", fmt.Errorf("resident: runtime folder %s belongs to another user (uid %d): set %s to a folder of your own", dir, st.Uid, EnvDir)
	case info.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("resident: runtime folder %s can be entered by other users (mode %v): `chmod 700 %s`, or remove it", dir, info.Mode().Perm(), dir)
	}
	return dir, nil
}

// keyEnv are the environment variables that decide which files a reference
// resolves to: programs that differ in them get different servers.
var keyEnv = []string{"LOGITLENS_CACHE", "LOGITLENS_DEMO_DIR", "HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "XDG_CACHE_HOME"}

// key names the files of the server of ref loaded with options in the runtime folder.
func key(ref, options string) string {
	id := canonical(ref) + "\x00" + options + "\x00" + strconv.Itoa(Protocol)
	for _, k := range keyEnv {
		id += "\x00" + k + "=" + os.Getenv(k)
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8]) + ".v" + strconv.Itoa(Protocol)
}

// canonical is ref as servers are told apart: trimmed; a folder by its absolute path.
func canonical(ref string) string {
	ref = strings.TrimSpace(ref)
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		if abs, err := filepath.Abs(ref); err == nil {
			return abs
		}
	}
	return ref
}

// SocketPath returns the socket of the server of ref loaded with options (a
// string that tells load options apart, "" for the defaults); EnvSocket when set.
func SocketPath(ref, options string) (string, error) {
	if s := os.Getenv(EnvSocket); s != "" {
		return s, nil
	}
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, key(ref, options)+".sock"), nil
}

// Messages. Each request and each reply carries its payload gob-encoded on its
// own, so that one request's types never confuse the next.
type hello struct {
	Protocol int
	Ref      string
}

// Info is what a server says of itself when a client connects.
type Info struct {
	Ref     string // the model's label (a random model's says so)
	Dir     string // the model folder (config.json, tokenizer.json, the weights)
	Backend string // the engine's GoMLX backend
	Build   string // the sources the server was built from (BuildID)
	// Requested is the reference the server was asked to load.
	Requested string
	PID       int
	// Kind is "random", "demo" or "" (lensnb.Model's Random and Demo).
	Kind string
}

type helloReply struct {
	Protocol int
	Info     Info
	Err      string
}

type request struct {
	Method string
	Args   []byte
}

// response is an event (Event set: more follows) or the answer.
type response struct {
	Event   []byte
	Err     *RemoteError
	Reply   []byte
	IsEvent bool
}

// WireError is an error that crosses the socket with its type: the client gets a
// *RemoteError with its Kind and Data, and the package that defined the error
// rebuilds it (lensnb does for *lensnb.ModelError).
type WireError interface {
	error
	WireKind() string
	WireData() ([]byte, error)
}

// RemoteError is an error that a server returned.
type RemoteError struct {
	Message string
	Kind    string // WireError's kind, "" for a plain error
	Data    []byte
}

func (e *RemoteError) Error() string { return e.Message }

// remoteError is err as it crosses the socket.
func remoteError(err error) *RemoteError {
	r := &RemoteError{Message: err.Error()}
	var w WireError
	if errors.As(err, &w) {
		if data, derr := w.WireData(); derr == nil {
			r.Kind, r.Data = w.WireKind(), data
		}
	}
	return r
}

// Server-control methods (not model operations).
const (
	methodPing     = "resident.Ping"
	methodShutdown = "resident.Shutdown"
)

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decode(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// errOtherVersion marks a peer of another protocol version.
var errOtherVersion = errors.New("another version of logitlens")

// versionError is a peer of another protocol version.
func versionError(theirs int, where string) error {
	return fmt.Errorf("resident: the server at %s speaks protocol %d and this program protocol %d (%w): stop it (lensnb.StopResident, or kill its process) or set %s=0", where, theirs, Protocol, errOtherVersion, EnvDisable)
}

// Encode and Decode are the payload codec of requests, events and answers (gob),
// for the packages that give requests their meaning.
func Encode(v any) ([]byte, error) { return encode(v) }

// Decode reads what Encode wrote into v (a pointer).
func Decode(data []byte, v any) error { return decode(data, v) }

var errNotServer = errors.New("resident: the socket answered, but not as a logitlens resident server")
