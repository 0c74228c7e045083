package resident

// The server program, cmd/logitlens-server, is built from this checkout into the
// user cache the first time a client needs it, and again whenever the sources
// change: the binary's folder is named by BuildID, a hash of the sources, which
// the binary also carries (-ldflags -X) and reports when a client connects.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/logitlens-go/logitlens/internal/atomicfile"
)

// ServerPackage is the import path of the server program, relative to the module.
const ServerPackage = "./cmd/logitlens-server"

// EnvRoot names the checkout to build the server from when this program's own
// sources cannot be found (a binary built with -trimpath, say).
const EnvRoot = "LOGITLENS_ROOT"

// ModuleRoot returns the folder of this checkout: the module holding this
// package's source file, or $LOGITLENS_ROOT.
func ModuleRoot() (string, error) {
	if r := os.Getenv(EnvRoot); r != "" {
		return r, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	return "", fmt.Errorf("resident: cannot find the logitlens sources to build the model server: set %s to the checkout (the folder with go.mod)", EnvRoot)
}

// BuildID names the sources a server is built from: the SHA-256 of go.mod, go.sum
// and every non-test .go file and assembly (.s) file of the checkout at root, the
// patched GoMLX in third_party included (names and contents).
//
// Every notebook cell asks, and hashing 5 MB of sources took a cell 25 ms: the
// result is remembered in the server cache under a stamp of every file's name,
// size and modification time, so an unchanged checkout costs a walk of its folders.
func BuildID(root string) (string, error) {
	files, stamp, err := sourceFiles(root)
	if err != nil {
		return "", err
	}
	memo := ""
	if cache, err := serverCacheDir(); err == nil {
		key := sha256.Sum256([]byte(root))
		memo = filepath.Join(cache, "buildid-"+hex.EncodeToString(key[:])[:12])
		if b, err := os.ReadFile(memo); err == nil {
			if saved, id, ok := strings.Cut(string(b), " "); ok && saved == stamp && len(id) == 20 {
				return id, nil
			}
		}
	}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("resident: %w", err)
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	id := hex.EncodeToString(h.Sum(nil))[:20]
	if memo != "" && os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		_ = atomicfile.WriteBytes(memo, []byte(stamp+" "+id)) // only a shortcut: the hash stands without it
	}
	return id, nil
}

// sourceFiles lists the files BuildID hashes, sorted, and a stamp of their names,
// sizes and modification times.
func sourceFiles(root string) (files []string, stamp string, err error) {
	st := sha256.New()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || strings.HasSuffix(name, ".s") || (filepath.Dir(path) == root && (name == "go.mod" || name == "go.sum")) {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, path)
			fmt.Fprintf(st, "%s\x00%d\x00%d\x00", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("resident: read the sources at %s: %w", root, err)
	}
	sort.Strings(files) // the walk's order is not sort.Strings' ("a/b" before "a-c")
	return files, hex.EncodeToString(st.Sum(nil)), nil
}

// serverCacheDir is where built servers are kept: $LOGITLENS_SERVER_CACHE, else
// the user cache's logitlens/server. Builds are named by their sources, so every
// program that uses this checkout shares them (LOGITLENS_CACHE, which keeps
// models, does not move them).
func serverCacheDir() (string, error) {
	if d := os.Getenv("LOGITLENS_SERVER_CACHE"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("resident: no cache folder for the model server (%v): set LOGITLENS_SERVER_CACHE", err)
	}
	return filepath.Join(c, "logitlens", "server"), nil
}

// BuildError is a server program that did not build: Output is the compiler's.
type BuildError struct {
	Root, Output string
	Err          error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("resident: building the model server (go build %s in %s) failed: %v\n%s\nfix the sources (or check out a clean copy) and run the cell again; %s=0 loads the model in the cell's own program instead",
		ServerPackage, e.Root, e.Err, strings.TrimSpace(e.Output), EnvDisable)
}

func (e *BuildError) Unwrap() error { return e.Err }

// buildMu keeps one build per program (the file lock keeps one per machine).
var buildMu sync.Mutex

// ServerBinary returns the server program built from this checkout, and its
// BuildID: $LOGITLENS_SERVER_BIN when set (its build then is whatever it reports),
// else the cached build, else a new one (progress, when not nil, says so: it takes
// about a minute the first time).
func ServerBinary(progress io.Writer) (path, build string, err error) {
	if bin := os.Getenv(EnvServerBinary); bin != "" {
		return bin, "", nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", "", err
	}
	if build, err = BuildID(root); err != nil {
		return "", "", err
	}
	cache, err := serverCacheDir()
	if err != nil {
		return "", "", err
	}
	dir := filepath.Join(cache, build)
	path = filepath.Join(dir, "logitlens-server")
	if _, err := os.Stat(path); err == nil {
		return path, build, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("resident: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, "build.lock"))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil { // another program built it meanwhile
		return path, build, nil
	}
	if progress != nil {
		fmt.Fprintln(progress, "building the model server (first time only, ~1 min)…")
	}
	t0 := time.Now()
	if err := goBuild(root, build, path); err != nil {
		return "", "", err
	}
	if progress != nil {
		fmt.Fprintf(progress, "model server built in %.0fs\n", time.Since(t0).Seconds())
	}
	pruneOldBuilds(cache, build)
	return path, build, nil
}

// goBuild builds the server program of root into path, atomically.
func goBuild(root, build, path string) error {
	tmp := path + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, "-ldflags", "-s -w -X main.build="+build, ServerPackage)
	cmd.Dir = root
	cmd.Env = buildEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		if errors.Is(err, exec.ErrNotFound) {
			err = fmt.Errorf("the go command is not on PATH (%w)", err)
		}
		return &BuildError{Root: root, Output: out.String(), Err: err}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("resident: %w", err)
	}
	return nil
}

// buildEnv is this program's environment for the server's build: the project's
// toolchain and SIMD kernels unless set otherwise, and no workspace of a notebook
// (GoNB's go.work lists the cell's own module, which the server does not need).
func buildEnv() []string {
	env := []string{"GOWORK=off"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOWORK=") {
			env = append(env, kv)
		}
	}
	if os.Getenv("GOTOOLCHAIN") == "" {
		env = append(env, "GOTOOLCHAIN=go1.27.3")
	}
	if os.Getenv("GOEXPERIMENT") == "" {
		env = append(env, "GOEXPERIMENT=simd")
	}
	return env
}

// pruneOldBuilds removes the builds of other sources that no server has used for
// a week (a running server keeps its inode).
func pruneOldBuilds(cache, keep string) {
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 7*24*time.Hour {
			os.RemoveAll(filepath.Join(cache, e.Name()))
		}
	}
}
