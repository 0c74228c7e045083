package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.txt")
	if err := WriteBytes(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old content and no temporary file.
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("half of tw"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the writer's error", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "one" {
		t.Errorf("after a failed write the file holds %q, want the old content", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("%d entries in the folder, want only the file: %v", len(entries), entries)
	}
	if err := WriteBytes(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "two" {
		t.Errorf("got %q, want two", got)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

// A directory, or a path ending in a separator, is not a file to write: refused
// before anything is created, and no temporary file lands elsewhere (for "/tmp",
// a temporary file used to be created in "/").
func TestWriteRefusesDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, dir + "/", ""} {
		if err := WriteBytes(p, []byte("x")); err == nil {
			t.Errorf("WriteBytes(%q) wrote", p)
		}
	}
	entries, _ := os.ReadDir(dir)
	parent, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".tmp-*"))
	if len(entries) != 0 || len(parent) != 0 {
		t.Errorf("left behind: %v %v", entries, parent)
	}
	// A relative path with a trailing "." element: the temporary file is beside the target.
	t.Chdir(dir)
	if err := WriteBytes(filepath.Join("sub", "..", "f.txt"), []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f.txt")); err != nil || string(b) != "ok" {
		t.Errorf("f.txt: %q %v", b, err)
	}
}
