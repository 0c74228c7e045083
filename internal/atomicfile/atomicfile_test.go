package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	t.Chdir(dir)
	os.Mkdir("d", 0o755)
	if err := WriteBytes("", nil); err == nil || !strings.Contains(err.Error(), "no file name") {
		t.Errorf(`WriteBytes(""): %v`, err)
	}
	for _, p := range []string{dir, dir + "/", ".", "..", "d", "d/", "d/.", "nope/..", "nope/../d", "/"} {
		err := WriteBytes(p, []byte("x"))
		if err == nil {
			t.Errorf("WriteBytes(%q) wrote", p)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "directory") && !strings.Contains(msg, "names a folder") {
			t.Errorf("WriteBytes(%q): %v, want it to say the path is a folder", p, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	parent, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".tmp-*"))
	if len(entries) != 1 || len(parent) != 0 {
		t.Errorf("left behind: %v %v", entries, parent)
	}
	// A relative path with a ".." element: the temporary file is beside the target.
	if err := WriteBytes(filepath.Join("sub", "..", "f.txt"), []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f.txt")); err != nil || string(b) != "ok" {
		t.Errorf("f.txt: %q %v", b, err)
	}
}

// The temporary file is created in the target's own folder (so that the rename
// is atomic), for absolute and relative paths alike.
func TestWriteKeepsTheTemporaryFileBesideTheTarget(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, c := range []struct{ path, folder string }{
		{"f.txt", dir},
		{"./g.txt", dir},
		{filepath.Join("a", "b", "h.txt"), filepath.Join(dir, "a", "b")},
		{filepath.Join(dir, "a", "i.txt"), filepath.Join(dir, "a")},
	} {
		var seen []string
		err := Write(c.path, func(io.Writer) error {
			seen, _ = filepath.Glob(filepath.Join(c.folder, ".tmp-*"))
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if len(seen) != 1 || !strings.HasPrefix(filepath.Base(seen[0]), ".tmp-"+filepath.Base(c.path)+"-") {
			t.Errorf("%s: temporary files in %s while writing: %v, want one", c.path, c.folder, seen)
		}
		if left, _ := filepath.Glob(filepath.Join(c.folder, ".tmp-*")); len(left) != 0 {
			t.Errorf("%s: left behind %v", c.path, left)
		}
	}
}

// A folder where no file can be created is named in the error.
func TestWriteNamesTheFolderItCannotWriteIn(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	err := WriteBytes(filepath.Join(file, "x.json"), []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "write "+filepath.Join(file, "x.json")) {
		t.Errorf("got %v, want the target named", err)
	}
}
