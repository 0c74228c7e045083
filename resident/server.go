package resident

import (
	"encoding/gob"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/logitlens-go/logitlens/gpt2"
)

// Loader loads the model a server holds.
type Loader func(ref string) (*gpt2.Model, error)

// ServeIfAsked turns this process into the server a client started, when it is
// one (LOGITLENS_RESIDENT_SERVE is set): it loads the model with load, serves
// until idle or stopped, and exits. Otherwise it returns at once. A program calls
// it before doing anything else (lensnb does, from init).
func ServeIfAsked(load Loader) {
	ref, ok := os.LookupEnv(envServe)
	if !ok {
		return
	}
	sock := os.Getenv(envSocket)
	if exe, err := os.Executable(); err == nil && os.Getenv("LOGITLENS_RESIDENT_KEEP_BINARY") == "" {
		os.Remove(exe) // the client's copy: the running process keeps its inode
	}
	idle := DefaultIdle
	if s := os.Getenv(EnvIdle); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			idle = d
		}
	}
	if err := Serve(sock, ref, load, idle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Serve loads ref and answers requests on the Unix socket sock until no request
// has come for idle, or one asks it to stop. Requests are answered one at a time
// (the model is used by one request at a time: its memory stays one copy of the
// weights plus one request's working memory).
func Serve(sock, ref string, load Loader, idle time.Duration) error {
	m, err := load(ref)
	if err != nil {
		return err
	}
	syscall.Umask(0o077) // the socket is created 0600 (0700 & ~umask for its folder entry)
	os.Remove(sock)      // a stale socket of a dead server; the client holds the start lock
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("resident: listen on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("resident: %w", err)
	}
	s := &server{m: m, ln: ln, sock: sock, idle: idle, last: time.Now(), done: make(chan struct{})}
	go s.watchIdle()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		go s.serveConn(conn)
	}
}

type server struct {
	m    *gpt2.Model
	ln   net.Listener
	sock string
	idle time.Duration

	modelMu sync.Mutex // one request on the model at a time

	mu       sync.Mutex
	last     time.Time // end of the last request
	active   int       // requests in progress
	done     chan struct{}
	stopOnce sync.Once
}

func (s *server) stop() {
	s.stopOnce.Do(func() {
		close(s.done)
		os.Remove(s.sock)
		s.ln.Close()
	})
}

func (s *server) watchIdle() {
	tick := min(s.idle/10, time.Second)
	for {
		select {
		case <-s.done:
			return
		case <-time.After(tick):
		}
		s.mu.Lock()
		idle := s.active == 0 && time.Since(s.last) > s.idle
		s.mu.Unlock()
		if idle {
			s.stop()
			return
		}
	}
}

func (s *server) serveConn(conn net.Conn) {
	defer conn.Close()
	enc, dec := gob.NewEncoder(conn), gob.NewDecoder(conn)
	var h hello
	if err := dec.Decode(&h); err != nil {
		return // not a client of ours
	}
	reply := helloReply{Protocol: Protocol, Ref: s.m.Ref, Dir: s.m.Dir, Backend: s.m.BackendName, PID: os.Getpid()}
	if h.Protocol != Protocol {
		reply.Err = fmt.Sprintf("this server speaks protocol %d, the client %d", Protocol, h.Protocol)
	}
	if err := enc.Encode(reply); err != nil || reply.Err != "" {
		return
	}
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			return
		}
		resp := s.answer(req)
		if err := enc.Encode(resp); err != nil {
			return
		}
		if req.Method == methodShutdown {
			s.stop()
			return
		}
	}
}

// answer runs one request; a failure of the request (bad input, a panic) is its
// error, and the server goes on serving.
func (s *server) answer(req request) (resp response) {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.last = time.Now()
		s.mu.Unlock()
	}()
	switch req.Method {
	case methodPing, methodShutdown:
		return response{}
	}
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			resp = response{Err: fmt.Sprintf("internal error in the resident server while answering %s: %v\n%s", req.Method, p, debug.Stack())}
		}
	}()
	reply, err := gpt2.ServeRemote(s.m, req.Method, func(args any) error {
		if err := decode(req.Args, args); err != nil {
			return fmt.Errorf("resident: request %s: %w", req.Method, err)
		}
		return nil
	})
	if err != nil {
		return response{Err: err.Error()}
	}
	data, err := encode(reply)
	if err != nil {
		return response{Err: fmt.Sprintf("resident: cannot send the answer to %s: %v", req.Method, err)}
	}
	return response{Reply: data}
}
