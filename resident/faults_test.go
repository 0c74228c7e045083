package resident_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/resident"
)

// buildServer builds the server program of this checkout into dir, claiming to be
// built from the sources named build (as a server from an older checkout would).
func buildServer(t *testing.T, dir, build string) string {
	t.Helper()
	root, err := resident.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "logitlens-server")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.build="+build, resident.ServerPackage)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServer runs bin by hand on sock (as `logitlens-server -model … -socket …`)
// and waits until it answers; the test stops it.
func startServer(t *testing.T, bin, ref, sock string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-model", ref, "-socket", sock, "-idle", "2m")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 600; i++ {
		if _, err := os.Stat(sock); err == nil {
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server on %s did not start", sock)
	return nil
}

// A server built from other sources (an older checkout) is replaced, never used;
// at a socket named by hand it is refused with a message that says so.
func TestServerOfOtherSources(t *testing.T) {
	useRuntimeDir(t, "tiny")
	old := buildServer(t, t.TempDir(), "0123456789abcdef0000")
	sock, err := resident.SocketPath("tiny", "")
	if err != nil {
		t.Fatal(err)
	}
	cmd := startServer(t, old, "tiny", sock)
	m, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pid := resident.ServerPID("tiny", ""); pid == 0 || pid == cmd.Process.Pid {
		t.Errorf("the server of other sources (pid %d) still serves (pid %d)", cmd.Process.Pid, pid)
	}
	if _, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{}); err != nil {
		t.Fatal(err)
	}

	named := filepath.Join(t.TempDir(), "old.sock")
	startServer(t, old, "tiny", named)
	t.Setenv(resident.EnvSocket, named)
	_, err = lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err == nil || !strings.Contains(err.Error(), "built from other sources") || !strings.Contains(err.Error(), "same commit") {
		t.Errorf("a named server of other sources: %v, want a refusal that says why", err)
	}
}

// A notebook on one machine and a model server on another share only a socket
// path (what `ssh -L` forwards): here two processes and two runtime folders.
func TestNamedSocketAcrossProcesses(t *testing.T) {
	useRuntimeDir(t)
	bin, _, err := resident.ServerBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "lens.sock")
	server := startServer(t, bin, "tiny", sock)
	t.Setenv(resident.EnvSocket, sock)

	m, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.BackendName, "model server") || !lensnb.IsRandom(m) {
		t.Errorf("through the named socket: %s, random %t", m.BackendName, lensnb.IsRandom(m))
	}
	local, err := engine.LoadModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := lensnb.Prompt(local, "Are cats good?", lensnb.Options{})
	if jsonOf(t, got) != jsonOf(t, want) {
		t.Error("the lens through the named socket differs from in-process")
	}
	if _, err := lensnb.OpenModel("demo", lensnb.LoadModelOptions{}); err == nil || !strings.Contains(err.Error(), `serves "tiny", not "demo"`) {
		t.Errorf("another model at the named socket: %v, want a clear error", err)
	}
	if err := lensnb.StopResident("tiny"); err != nil || resident.ServerPID("tiny", "") != server.Process.Pid {
		t.Errorf("StopResident must leave a server started by hand: %v", err)
	}
	server.Process.Kill()
	server.Wait()
	if _, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{}); err == nil || !strings.Contains(err.Error(), "no model server answers") {
		t.Errorf("after the named server is gone: %v, want a clear error", err)
	}
}

// A server program that does not build: the cell ends with the compiler's output
// and what to do.
func TestServerBuildFails(t *testing.T) {
	useRuntimeDir(t, "tiny")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "cmd", "logitlens-server"), 0o755)
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(root, "cmd", "logitlens-server", "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	t.Setenv(resident.EnvRoot, root)
	t.Setenv("LOGITLENS_SERVER_CACHE", t.TempDir())
	_, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	var be *resident.BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "undefined: undefinedThing") || !strings.Contains(err.Error(), "run the cell again") {
		t.Errorf("a server that does not build: %v, want the compiler's output and advice", err)
	}
}

// A Llama-family model through the model server answers as in process.
func TestFamilyThroughTheServer(t *testing.T) {
	dir, err := fixture.Cached(fixture.Families()["qwen3"])
	if err != nil {
		t.Fatal(err)
	}
	useRuntimeDir(t, dir)
	local, err := engine.LoadModel(dir, lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rem, err := lensnb.OpenModel(dir, lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(m *lensnb.Model) (any, error){
		func(m *lensnb.Model) (any, error) { return lensnb.Prompt(m, "Are cats good?", lensnb.Options{}) },
		func(m *lensnb.Model) (any, error) {
			return lensnb.Generate(m, "Are cats good?", 3, lensnb.Options{NoFinalNorm: true})
		},
		func(m *lensnb.Model) (any, error) { return lensnb.Attribute(m, "Are cats good?", " good") },
		func(m *lensnb.Model) (any, error) { return m.Summary(4).String(), nil },
	} {
		want, werr := f(local)
		got, gerr := f(rem)
		if errText(gerr) != errText(werr) || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("through the server: %v / in process: %v (or the answers differ)", gerr, werr)
		}
	}
}
