package resident

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildID: the ID follows every source the server is built from (Go and
// assembly, not tests or node_modules), also when it is remembered, and a
// remembered ID that no longer matches the files is not used.
func TestBuildID(t *testing.T) {
	t.Setenv("LOGITLENS_SERVER_CACHE", t.TempDir())
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := func() string {
		t.Helper()
		v, err := BuildID(root)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 20 {
			t.Fatalf("BuildID %q, want 20 hex digits", v)
		}
		return v
	}
	write("go.mod", "module x\n")
	write("a.go", "package x\n")
	write("third_party/k/k_amd64.s", "TEXT ·f(SB), 0, $0\n")
	first := id()
	if again := id(); again != first {
		t.Fatalf("same sources, IDs %s and %s", first, again)
	}
	for _, c := range []struct{ name, rel, text string }{
		{"a test file", "a_test.go", "package x\n"},
		{"node_modules", "node_modules/m/m.go", "package m\n"},
	} {
		write(c.rel, c.text)
		if got := id(); got != first {
			t.Errorf("%s changed the ID", c.name)
		}
	}
	changes := []struct{ name, rel, text string }{
		{"an assembly file", "third_party/k/k_amd64.s", "TEXT ·g(SB), 0, $0\n"},
		{"a Go file, same size", "a.go", "package y\n"},
		{"a new Go file", "b/b.go", "package b\n"},
		{"go.mod", "go.mod", "module y\n"},
	}
	seen := map[string]string{first: "the first sources"}
	for _, c := range changes {
		write(c.rel, c.text)
		// the same size and the same second as before must still count
		p := filepath.Join(root, c.rel)
		now := time.Now().Add(time.Duration(len(seen)) * time.Millisecond)
		if err := os.Chtimes(p, now, now); err != nil {
			t.Fatal(err)
		}
		got := id()
		if prev, ok := seen[got]; ok {
			t.Errorf("after changing %s the ID is the one of %s", c.name, prev)
		}
		seen[got] = c.name
	}
	// A remembered ID from other files is not taken.
	memos, _ := filepath.Glob(filepath.Join(os.Getenv("LOGITLENS_SERVER_CACHE"), "buildid-*"))
	if len(memos) != 1 {
		t.Fatalf("remembered IDs: %v, want one file", memos)
	}
	if err := os.WriteFile(memos[0], []byte("0000 0123456789abcdef0123"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := id(); got == "0123456789abcdef0123" {
		t.Error("a remembered ID with another stamp was used")
	}
}
