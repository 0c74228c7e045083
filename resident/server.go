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
)

// Handler answers one request: decode fills its argument (call it once), emit
// sends an event before the answer (the client's onEvent receives it), and the
// reply is sent back. An error that implements WireError keeps its type.
type Handler func(method string, decode func(args any) error, emit func(event any) error) (reply any, err error)

// Request is what a client that started this process asked it to serve.
type Request struct {
	Ref, Load, Socket string
	Idle              time.Duration
}

// Requested returns the request of the client that started this process, and
// whether one did (the server program's environment says so).
func Requested() (Request, bool) {
	ref, ok := os.LookupEnv(envServe)
	if !ok {
		return Request{}, false
	}
	return Request{Ref: ref, Load: os.Getenv(envServeLoad), Socket: os.Getenv(envServeSock), Idle: IdleTimeout()}, true
}

// IdleTimeout is $LOGITLENS_RESIDENT_IDLE, or DefaultIdle.
func IdleTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(EnvIdle)); err == nil && d > 0 {
		return d
	}
	return DefaultIdle
}

// Serve answers requests on the Unix socket sock with handle until no request has
// come for idle (0: never), or one asks it to stop. Requests on the model are
// answered one at a time (its memory stays one copy of the weights plus one
// request's working memory).
func Serve(sock string, info Info, handle Handler, idle time.Duration) error {
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
	info.PID = os.Getpid()
	s := &server{info: info, handle: handle, ln: ln, sock: sock, idle: idle, last: time.Now(), done: make(chan struct{})}
	if idle > 0 {
		go s.watchIdle()
	}
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
	info   Info
	handle Handler
	ln     net.Listener
	sock   string
	idle   time.Duration

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
	reply := helloReply{Protocol: Protocol, Info: s.info}
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
		resp := s.answer(req, enc)
		if err := enc.Encode(resp); err != nil {
			return
		}
		if req.Method == methodShutdown {
			s.stop()
			return
		}
	}
}

// answer runs one request, sending its events on enc as they come; a failure of
// the request (bad input, a panic) is its error, and the server goes on serving.
func (s *server) answer(req request, enc *gob.Encoder) (resp response) {
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
			resp = response{Err: &RemoteError{Message: fmt.Sprintf("internal error in the model server while answering %s: %v\n%s", req.Method, p, debug.Stack())}}
		}
	}()
	decodeArgs := func(args any) error {
		if err := decode(req.Args, args); err != nil {
			return fmt.Errorf("resident: request %s: %w", req.Method, err)
		}
		return nil
	}
	emit := func(event any) error {
		data, err := encode(event)
		if err != nil {
			return fmt.Errorf("resident: cannot send an event of %s: %w", req.Method, err)
		}
		return enc.Encode(response{IsEvent: true, Event: data})
	}
	reply, err := s.handle(req.Method, decodeArgs, emit)
	if err != nil {
		return response{Err: remoteError(err)}
	}
	data, err := encode(reply)
	if err != nil {
		return response{Err: &RemoteError{Message: fmt.Sprintf("resident: cannot send the answer to %s: %v", req.Method, err)}}
	}
	return response{Reply: data}
}
