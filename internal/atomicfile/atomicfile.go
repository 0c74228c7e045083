// Package atomicfile writes files so that readers see either the old content or
// the whole new content, never a half-written file: the content goes to a
// temporary file in the same folder, which is synced, closed and renamed over the
// destination only when all of that succeeded (on any error it is removed).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write creates or replaces path (mode 0644, parent folders made as needed) with
// what write writes; write gets a buffered writer. A path that names a folder
// (an existing directory, or a name ending in a separator, ".", "..") is refused
// before anything is created.
func Write(path string, write func(io.Writer) error) (err error) {
	path, err = target(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path) // the temporary file goes beside path, never elsewhere
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: cannot create a file in %s: %w", path, dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// target checks that path names a file and returns it cleaned: its folder,
// filepath.Dir of the result, is where the temporary file goes.
func target(path string) (string, error) {
	if path == "" {
		return "", errors.New("write: no file name given")
	}
	if strings.HasSuffix(path, string(filepath.Separator)) || strings.HasSuffix(path, "/") {
		return "", fmt.Errorf("write %q: not a file name (it names a folder)", path)
	}
	clean := filepath.Clean(path)
	if base := filepath.Base(clean); base == "." || base == ".." || base == string(filepath.Separator) {
		return "", fmt.Errorf("write %q: not a file name (it names a folder)", path)
	}
	for _, p := range []string{path, clean} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return "", fmt.Errorf("write %s: it is a directory: give a file name", path)
		}
	}
	return clean, nil
}

// fill writes the content into tmp through a buffer, then makes it durable:
// mode 0644, synced and closed.
func fill(tmp *os.File, write func(io.Writer) error) error {
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	return tmp.Close()
}

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
