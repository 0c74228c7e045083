package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"

	"github.com/logitlens-go/logitlens/explorer"
	"github.com/logitlens-go/logitlens/lensnb"
)

// serve is `logitlens serve`: the lens explorer on a local web page.
func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logitlens serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: logitlens serve [--model REF] [--addr 127.0.0.1:PORT]   the lens explorer on a local web page\n\nflags:\n")
		fs.PrintDefaults()
	}
	modelRef := fs.String("model", "demo", "the model to explore (as for the lens: a hub id, a folder, demo, or a random model)")
	addr := fs.String("addr", "127.0.0.1:8080", "where to listen: a loopback address (the page is for this machine only)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q (flags only: --model, --addr)", fs.Arg(0))}
	}
	if _, err := checkModel(*modelRef); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	s := explorer.New(*modelRef, func() (*lensnb.Model, error) {
		return loadEngine(*modelRef, lensnb.LoadModelOptions{Progress: stderr})
	})
	fmt.Fprintf(stdout, "logitlens: explorer on http://%s/ (model %s loading; Ctrl-C stops)\n", ln.Addr(), *modelRef)
	srv := &http.Server{Handler: s.Handler()}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := s.Wait(); err != nil {
			fmt.Fprintln(stderr, "logitlens:", err)
		} else {
			fmt.Fprintln(stdout, "logitlens: model ready")
		}
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listenLoopback listens on addr, which must name a loopback address: the
// explorer runs the model for whoever reaches it, so it is not offered to the network.
func listenLoopback(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("serve: --addr %q: %v (e.g. 127.0.0.1:8080)", addr, err)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return nil, usageError{fmt.Errorf("serve: --addr %q: the port must be a number from 0 to 65535 (e.g. 127.0.0.1:8080)", addr)}
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usageError{fmt.Errorf("serve: --addr %q is not a loopback address: the explorer listens on this machine only (127.0.0.1 or [::1])", addr)}
	}
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", addr[len(host)+1:])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w (another program on that port? choose one with --addr 127.0.0.1:PORT)", err)
	}
	return ln, nil
}
