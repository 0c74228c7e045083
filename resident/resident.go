// Package resident keeps a model loaded in a background process — a resident
// server — so that programs that each live for a moment (every Jupyter cell under
// GoNB is a new program) use weights loaded once and graphs compiled once.
//
// One server holds one model reference. A client (Open) finds the server of its
// reference through a Unix socket in a per-user runtime folder (0700; the socket
// 0600: no other user of a shared machine can reach it; no TCP), or starts one: a
// copy of the client's own executable, run detached with LOGITLENS_RESIDENT_SERVE
// set, which loads the model with the loader the program registered (ServeIfAsked)
// and answers requests until it has been idle for the idle timeout (default 30
// minutes) or is asked to stop. The client side is an ordinary *gpt2.Model whose
// weight-bound calls travel to the server (gpt2.Remote); the server answers each
// with the same function an in-process model would run, so results and errors are
// the same.
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
const Protocol = 1

// Environment variables.
const (
	// EnvDisable, set to "0", makes lensnb.OpenModel load the model in-process.
	EnvDisable = "LOGITLENS_RESIDENT"
	// EnvIdle is how long a server waits without requests before it exits
	// (a Go duration: "30m", "2h"; default 30m).
	EnvIdle = "LOGITLENS_RESIDENT_IDLE"
	// EnvDir overrides the runtime folder of the sockets.
	EnvDir = "LOGITLENS_RESIDENT_DIR"

	// EnvDefer, set to "1", tells lensnb's init not to serve: the program registers
	// requests of its own (gpt2.RegisterRemote) in init and calls
	// lensnb.ServeIfAsked itself, first thing in main.
	EnvDefer = "LOGITLENS_RESIDENT_DEFER"

	envServe  = "LOGITLENS_RESIDENT_SERVE"  // in a server: the model reference
	envSocket = "LOGITLENS_RESIDENT_SOCKET" // in a server: its socket
)

// DefaultIdle is how long a server stays without requests.
const DefaultIdle = 30 * time.Minute

// Enabled reports whether models should be resident (EnvDisable is not "0").
func Enabled() bool { return strings.TrimSpace(os.Getenv(EnvDisable)) != "0" }

// Deferred reports whether EnvDefer is set.
func Deferred() bool { return os.Getenv(EnvDefer) == "1" }

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

// key names the files of ref's server in the runtime folder.
func key(ref string) string {
	id := canonical(ref) + "\x00" + strconv.Itoa(Protocol)
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

// SocketPath returns the socket of ref's server.
func SocketPath(ref string) (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, key(ref)+".sock"), nil
}

// Messages. Each request and each reply carries its payload gob-encoded on its
// own, so that one request's types never confuse the next.
type hello struct {
	Protocol int
	Ref      string
}

type helloReply struct {
	Protocol int
	Ref      string // the server's model reference, as the loader labelled it
	Dir      string // the model folder (config.json, tokenizer.json)
	Backend  string
	PID      int
	Err      string
}

type request struct {
	Method string
	Args   []byte
}

type response struct {
	Err   string
	Reply []byte
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

var errNotServer = errors.New("resident: the socket answered, but not as a logitlens resident server")
