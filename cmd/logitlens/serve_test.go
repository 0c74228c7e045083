package main

import (
	"io"
	"strings"
	"testing"
)

func TestServeListensOnLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--addr", "0.0.0.0:8080"}, "not a loopback address"},
		{[]string{"serve", "--addr", "192.168.1.5:80"}, "not a loopback address"},
		{[]string{"serve", "--addr", "8080"}, "e.g. 127.0.0.1:8080"},
		{[]string{"serve", "extra"}, "unexpected argument"},
	} {
		if err := run(c.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error about %q", c.args, err, c.want)
		}
	}
	ln, err := listenLoopback("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("localhost listened on %s", ln.Addr())
	}
}
