package resident

import (
	"encoding/gob"
	"net"
	"os"
	"strings"
	"testing"
)

// A server of another protocol version (another version of the project) is
// refused with a message that says so, not misread.
func TestOtherProtocolIsRefusedClearly(t *testing.T) {
	dir, err := os.MkdirTemp("", "lr")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o700)
	t.Setenv(EnvDir, dir)
	for _, c := range []struct {
		name  string
		serve func(net.Conn)
		want  string
	}{
		{"other version", func(conn net.Conn) {
			var h hello
			gob.NewDecoder(conn).Decode(&h)
			gob.NewEncoder(conn).Encode(helloReply{Protocol: Protocol + 1})
		}, "speaks protocol 3 and this program protocol 2"},
		{"not a server of ours", func(conn net.Conn) {
			var h hello
			gob.NewDecoder(conn).Decode(&h) // the client's whole hello, then an answer that is not gob
			conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}, "not as a logitlens resident server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sock, _ := SocketPath("fake-"+c.name, "")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					c.serve(conn)
					conn.Close()
				}
			}()
			_, err = Open("fake-"+c.name, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
