// Command logitlens-server is the model server: it loads one model with the lens
// engine (GoMLX) and answers the lens's requests on a Unix socket, so that the
// programs that ask — notebook cells, which link only lensnb — neither load the
// model nor link the engine.
//
// Clients start it themselves (lensnb.OpenModel builds it into the user cache the
// first time and starts it per model). Started by hand it serves a socket of your
// choosing, e.g. on a machine with a GPU, for notebooks elsewhere:
//
//	gpu$    go run ./cmd/logitlens-server -model gpt2-xl -socket /tmp/lens.sock
//	laptop$ ssh -N -L /tmp/lens.sock:/tmp/lens.sock gpu &
//	laptop$ LOGITLENS_RESIDENT_SOCKET=/tmp/lens.sock LOGITLENS_MODEL=gpt2-xl make notebook
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/resident"
)

// build is the BuildID of the sources this binary was built from (-ldflags -X).
var build string

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		resident.ReportStartFailure(err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	req, started := resident.Requested()
	if !started {
		fs := flag.NewFlagSet("logitlens-server", flag.ContinueOnError)
		fs.SetOutput(stdout)
		model := fs.String("model", "demo", "the model to serve: demo, tiny, random, small, a hub id (gpt2, gpt2-xl, …) or a folder")
		socket := fs.String("socket", "", "the Unix socket to listen on (created 0600; required)")
		idle := fs.Duration("idle", 0, "exit after this long without requests (0: never)")
		install := fs.Bool("install", false, "build the server of this checkout into the user cache, where notebooks look for it, and exit")
		fs.Usage = func() {
			fmt.Fprintln(stdout, "usage: logitlens-server -model REF -socket PATH [-idle 2h]\n       logitlens-server -install\n\nServes one model to lensnb clients that set LOGITLENS_RESIDENT_SOCKET=PATH\n(notebooks start their own servers; -install builds theirs ahead of time).")
			fs.PrintDefaults()
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("logitlens-server: unexpected argument %q (flags only: -model, -socket, -idle, -install)", fs.Arg(0))
		}
		if *install {
			path, _, err := resident.ServerBinary(stdout)
			if err == nil {
				fmt.Fprintln(stdout, "model server:", path)
			}
			return err
		}
		if *socket == "" {
			return errors.New("logitlens-server: give the socket to listen on: -socket /tmp/lens.sock")
		}
		if st, err := os.Stat(*socket); err == nil && st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("logitlens-server: %s exists and is not a socket: choose another path", *socket)
		}
		req = resident.Request{Ref: *model, Socket: *socket, Idle: *idle}
	}
	opts, err := lensnb.ParseLoadOptions(req.Load)
	if err != nil {
		return err
	}
	opts.Progress = stderr
	t0 := time.Now()
	m, err := engine.LoadModel(req.Ref, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "logitlens-server: %s loaded in %.1fs on %s; serving %s\n", m.Ref, time.Since(t0).Seconds(), m.BackendName, req.Socket)
	kind := ""
	switch {
	case m.Random:
		kind = "random"
	case m.Demo:
		kind = "demo"
	}
	info := resident.Info{Ref: m.Ref, Dir: m.Dir, Backend: m.BackendName, Build: build, Requested: req.Ref, Kind: kind}
	return resident.Serve(req.Socket, info, func(method string, decode func(any) error, emit func(any) error) (any, error) {
		return lensnb.ServeEngine(m.Engine, method, decode, emit)
	}, req.Idle)
}
