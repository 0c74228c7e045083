package resident_test

// These tests start real model servers: cmd/logitlens-server, built from this
// checkout into the user cache by the first test that needs it (ServerBinary).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
	"github.com/logitlens-go/logitlens/resident"
)

// useRuntimeDir points this test's servers at a private folder and stops them at the end.
func useRuntimeDir(t *testing.T, refs ...string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "lr")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o700)
	t.Setenv(resident.EnvDir, dir)
	t.Setenv(resident.EnvDisable, "")
	t.Cleanup(func() {
		for _, r := range refs {
			resident.StopAll(r)
		}
		os.RemoveAll(dir)
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestResidentAnswersAsInProcess(t *testing.T) {
	useRuntimeDir(t, "tiny")
	load := lensnb.LoadModelOptions{RandomLabel: " (random weights, label of the test)"} // crosses whole
	local, err := engine.LoadModel("tiny", load)
	if err != nil {
		t.Fatal(err)
	}
	rem, err := lensnb.OpenModel("tiny", load)
	if err != nil {
		t.Fatal(err)
	}
	if _, here := local.Engine.(*engine.Local); !here || !strings.Contains(rem.BackendName, "model server") {
		t.Fatalf("OpenModel must return a model held by a server (%s), engine.LoadModel one held here", rem.BackendName)
	}
	if rem.Ref != local.Ref || rem.Ref != "tiny (random weights, label of the test)" || rem.Dir != local.Dir || !lensnb.IsRandom(rem) {
		t.Errorf("remote model Ref %q Dir %q, in-process %q %q", rem.Ref, rem.Dir, local.Ref, local.Dir)
	}
	prompt := "Are cats good?"
	ids, _ := local.Tokenizer.Encode(prompt)
	cases := []struct {
		name string
		run  func(m *lensnb.Model) (any, error)
	}{
		{"prompt lens", func(m *lensnb.Model) (any, error) { return lensnb.Prompt(m, prompt, lensnb.Options{}) }},
		{"prompt lens without ln_f, target, resid_mid", func(m *lensnb.Model) (any, error) {
			return lensnb.Prompt(m, prompt, lensnb.Options{NoFinalNorm: true, Target: lensnb.TokenID(922), ResidMid: true})
		}},
		{"generation lens", func(m *lensnb.Model) (any, error) { return lensnb.Generate(m, prompt, 4, lensnb.Options{}) }},
		{"generation, then its lens", func(m *lensnb.Model) (any, error) {
			gen, err := m.Generate(ids, lm.GenerateOptions{MaxNewTokens: 3})
			if err != nil {
				return nil, err
			}
			return lensnb.FromGeneration(m, gen, lensnb.Options{TopK: 3})
		}},
		{"trace: save, zero, replace, add", func(m *lensnb.Model) (any, error) {
			tr := lensnb.NewTrace(m, prompt)
			a := tr.Save("blocks.0.hook_resid_post")
			tr.Zero("blocks.0.hook_attn_out", 1)
			out, err := tr.Run()
			if err != nil {
				return nil, err
			}
			tr2 := lensnb.NewTrace(m, prompt)
			b := tr2.Save("blocks.1.hook_resid_pre")
			tr2.Replace("blocks.0.hook_resid_post", a.Value())
			tr2.Add("blocks.1.hook_mlp_out", a.Value(), 0)
			out2, err := tr2.Run()
			if err != nil {
				return nil, err
			}
			return []any{a.Value(), out.Logits(0), b.Value(), out2.Logits(0)}, nil
		}},
		{"attribution", func(m *lensnb.Model) (any, error) { return lensnb.AttributeIDs(m, ids, 922, 318) }},
		{"compare", func(m *lensnb.Model) (any, error) {
			return lensnb.Compare(m, lensnb.LensSide{IDs: ids}, lensnb.LensSide{IDs: ids, Opts: lensnb.Options{NoFinalNorm: true}})
		}},
		{"decode logits", func(m *lensnb.Model) (any, error) {
			run, err := m.Run(ids, lm.RunOptions{Keep: []string{"blocks.0.hook_resid_post"}})
			if err != nil {
				return nil, err
			}
			return lensnb.DecodeLogits(m, run.Hooks["blocks.0.hook_resid_post"], true)
		}},
		{"patching sweep", func(m *lensnb.Model) (any, error) {
			return lensnb.PatchSweep(m, "Are cats good?", "Are dogs good?", lensnb.PatchOptions{})
		}},
		{"weights", func(m *lensnb.Model) (any, error) { return m.WeightRows("wte.weight", 5, 50256) }},
		{"loss and weights hash", func(m *lensnb.Model) (any, error) {
			loss, err := m.Loss([][]int{ids})
			if err != nil {
				return nil, err
			}
			h, err := m.WeightsHash()
			return []any{loss, h}, err
		}},
		{"tuned lens: train (with progress), read, compare lenses", func(m *lensnb.Model) (any, error) {
			text, _ := m.Tokenizer.Encode(strings.Repeat("The cat sat on the mat. Are cats good? ", 10))
			var steps []int
			tl, hist, err := lensnb.TrainTunedLens(m, text, lensnb.TuneOptions{Steps: 12, Rows: 2, SeqLen: 16,
				OnProgress: func(p lensnb.TuneProgress) { steps = append(steps, p.Step) }})
			if err != nil {
				return nil, err
			}
			for i := range hist {
				hist[i].Seconds = 0
			}
			r, err := lensnb.Prompt(m, prompt, lensnb.Options{Tuned: tl})
			if err != nil {
				return nil, err
			}
			q, err := lensnb.CompareLenses(m, tl, [][]int{text[:20]})
			return []any{tl.Hash(), tl.For, tl.Trained, hist, steps, r, q}, err
		}},
		{"tuned lens of another model", func(m *lensnb.Model) (any, error) {
			tl, _ := lensnb.NewTunedLens(m)
			tl.W, tl.B = tl.W[:1], tl.B[:1]
			return lensnb.Prompt(m, prompt, lensnb.Options{Tuned: tl})
		}},
		{"model files (for a client without the folder)", func(m *lensnb.Model) (any, error) {
			c, tok, err := m.Engine.ModelFiles()
			return []any{string(c), len(tok)}, err
		}},
		{"summary and modules", func(m *lensnb.Model) (any, error) { return []any{m.Summary(4).String(), m.Modules()}, nil }},
		// Bad input: the same error, and the server keeps serving.
		{"prompt over n_positions", func(m *lensnb.Model) (any, error) {
			return lensnb.PromptIDs(m, make([]int, m.Config.NPositions+1), lensnb.Options{})
		}},
		{"unknown hook", func(m *lensnb.Model) (any, error) {
			tr := lensnb.NewTrace(m, prompt)
			tr.Save("blocks.99.hook_resid_post")
			return tr.Run()
		}},
		{"bad patch shape", func(m *lensnb.Model) (any, error) {
			return m.Run(ids, lm.RunOptions{Patches: []lm.Patch{{Hook: "blocks.0.hook_resid_post", Op: lm.PatchReplace, Value: lm.NewArray(1, 3)}}})
		}},
		{"empty prompt", func(m *lensnb.Model) (any, error) { return lensnb.PromptIDs(m, nil, lensnb.Options{}) }},
		{"after the errors", func(m *lensnb.Model) (any, error) { return lensnb.Prompt(m, "The", lensnb.Options{}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := c.run(local)
			got, gotErr := c.run(rem)
			if errText(gotErr) != errText(wantErr) {
				t.Fatalf("error through the server %q, in-process %q", errText(gotErr), errText(wantErr))
			}
			if g, w := jsonOf(t, got), jsonOf(t, want); wantErr == nil && g != w {
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Errorf("result through the server differs from in-process at byte %d: %.80q vs %.80q", i, g[max(0, i-20):], w[max(0, i-20):])
						break
					}
				}
			}
		})
	}
}

func TestResidentServerIsPrivate(t *testing.T) {
	useRuntimeDir(t, "tiny")
	if _, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{}); err != nil {
		t.Fatal(err)
	}
	sock, _ := resident.SocketPath("tiny", "")
	for path, want := range map[string]os.FileMode{sock: 0o600, filepath.Dir(sock): 0o700} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
	}
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	t.Setenv(resident.EnvDir, open)
	if _, err := resident.RuntimeDir(); err == nil || !strings.Contains(err.Error(), "other users") {
		t.Errorf("a runtime folder others can enter: %v, want a refusal", err)
	}
}

func TestResidentRecoversFromAKilledServer(t *testing.T) {
	useRuntimeDir(t, "tiny")
	m, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kill := func() int {
		pid := resident.ServerPID("tiny", "")
		if pid == 0 {
			t.Fatal("no server answers")
		}
		syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		return pid
	}
	// Killed between calls: the next call starts a new server and answers.
	old := kill()
	if _, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{}); err != nil {
		t.Fatalf("the call after a killed server: %v", err)
	}
	if pid := resident.ServerPID("tiny", ""); pid == 0 || pid == old {
		t.Errorf("server pid %d after the restart (the killed one was %d)", pid, old)
	}
	// Killed during a call (a long training): that call reports it clearly; the
	// next one recovers.
	ids, _ := m.Tokenizer.Encode(strings.Repeat("Are cats good? ", 20))
	started := make(chan bool, 1)
	done := make(chan error, 1)
	go func() {
		_, _, err := lensnb.TrainTunedLens(m, ids, lensnb.TuneOptions{Steps: 1_000_000, Rows: 1, SeqLen: 8,
			OnProgress: func(lensnb.TuneProgress) {
				select {
				case started <- true:
				default:
				}
			}})
		done <- err
	}()
	<-started
	kill()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "stopped while answering TrainTunedLens") || !strings.Contains(err.Error(), "next call starts a new one") {
		t.Errorf("a call whose server was killed: %v, want a clear error", err)
	}
	if _, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{}); err != nil {
		t.Errorf("the call after that: %v", err)
	}
}

func TestResidentStaleSocketAndConcurrentClients(t *testing.T) {
	useRuntimeDir(t, "tiny")
	sock, err := resident.SocketPath("tiny", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock, []byte("stale"), 0o600); err != nil { // what a crashed server could leave
		t.Fatal(err)
	}
	local, err := engine.LoadModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prompts := []string{"Are cats good?", "The dog runs", "One two three four", "Hello"}
	var wg sync.WaitGroup
	errs := make([]error, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() { // two "kernels" per prompt pair: separate programs' connections
			defer wg.Done()
			m, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			got, err := lensnb.Prompt(m, p, lensnb.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			want, _ := lensnb.Prompt(local, p, lensnb.Options{})
			if jsonOf(t, got) != jsonOf(t, want) {
				errs[i] = fmt.Errorf("prompt %q: the answer differs from in-process", p)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestResidentOneServerPerModelAndLoadErrors(t *testing.T) {
	local, err := engine.LoadModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	useRuntimeDir(t, "tiny", local.Dir)
	a, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := lensnb.OpenModel(local.Dir, lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.BackendName == b.BackendName { // it names the server's pid
		t.Errorf("two references share a server: %q", a.BackendName)
	}
	missing := filepath.Join(t.TempDir(), "no-model")
	os.Mkdir(missing, 0o755)
	_, want := engine.LoadModel(missing, lensnb.LoadModelOptions{})
	_, got := lensnb.OpenModel(missing, lensnb.LoadModelOptions{})
	var me *lensnb.ModelError
	if !errors.As(got, &me) || errText(got) != errText(want) {
		t.Errorf("a folder that cannot load: through the server %q, in-process %q", errText(got), errText(want))
	}
	// A hub model neither cached nor downloadable: the same error, with its type
	// and its Unavailable (which the notebooks turn into "use demo") across the socket.
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, want = engine.LoadModel("gpt2", lensnb.LoadModelOptions{})
	_, got = lensnb.OpenModel("gpt2", lensnb.LoadModelOptions{})
	if !errors.As(got, &me) || !me.Unavailable() || errText(got) != errText(want) {
		t.Errorf("an unavailable hub model: through the server %q (unavailable: %v), in-process %q", errText(got), me != nil && me.Unavailable(), errText(want))
	}
}

func TestResidentIdleTimeoutAndStop(t *testing.T) {
	useRuntimeDir(t, "tiny")
	t.Setenv(resident.EnvIdle, "1s")
	if _, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{}); err != nil {
		t.Fatal(err)
	}
	sock, _ := resident.SocketPath("tiny", "")
	deadline := time.Now().Add(10 * time.Second)
	for resident.ServerPID("tiny", "") != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if resident.ServerPID("tiny", "") != 0 {
		t.Fatal("the server did not exit after its idle timeout")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the idle server left its socket")
	}
	t.Setenv(resident.EnvIdle, "")
	if _, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lensnb.StopResident("tiny"); err != nil {
		t.Fatal(err)
	}
	if pid := resident.ServerPID("tiny", ""); pid != 0 {
		t.Errorf("server %d still answers after StopResident", pid)
	}
}

func TestInProcessWhenDisabled(t *testing.T) {
	t.Setenv(resident.EnvDisable, "0")
	m, err := lensnb.OpenModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, here := m.Engine.(*engine.Local); !here {
		t.Error("LOGITLENS_RESIDENT=0 must load the model in this program")
	}
}
