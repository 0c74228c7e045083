package gpt2_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lm"
)

// tensorInfo is one header entry of a safetensors file.
type tensorInfo struct {
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// editWeights rewrites dir/model.safetensors: change gets the header entries and the
// data section and may edit both.
func editWeights(t *testing.T, dir string, change func(h map[string]*tensorInfo, data []byte) []byte) {
	t.Helper()
	p := filepath.Join(dir, "model.safetensors")
	file, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(file[:8])
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	h := map[string]*tensorInfo{}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var info tensorInfo
		if err := json.Unmarshal(v, &info); err != nil {
			t.Fatal(err)
		}
		h[k] = &info
	}
	data := change(h, append([]byte(nil), file[8+n:]...))
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	if err := os.WriteFile(p, append(append(out, hdr...), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRejectsBadWeights: non-finite values, tensors the config does not explain
// and a header that does not fit its tensors each fail with the tensor's name and
// what to do.
func TestLoadRejectsBadWeights(t *testing.T) {
	setF32 := func(name string, index int, v float32) func(h map[string]*tensorInfo, data []byte) []byte {
		return func(h map[string]*tensorInfo, data []byte) []byte {
			at := h[name].Offsets[0] + 4*int64(index)
			binary.LittleEndian.PutUint32(data[at:], math.Float32bits(v))
			return data
		}
	}
	cases := []struct {
		name  string
		spec  fixture.Spec
		edit  func(h map[string]*tensorInfo, data []byte) []byte
		wants []string
	}{
		{"NaN in wte", fixture.Tiny(), setF32("wte.weight", 12345, float32(math.NaN())),
			[]string{"wte.weight", "NaN at element 12345", "download it again"}},
		{"Inf in the last tensor", fixture.Tiny(), setF32("ln_f.bias", 3, float32(math.Inf(-1))),
			[]string{"ln_f.bias", "infinite value at element 3"}},
		{"Inf in an F16 file", func() fixture.Spec { s := fixture.Tiny(); s.DType = "F16"; return s }(),
			func(h map[string]*tensorInfo, data []byte) []byte {
				at := h["h.1.mlp.c_fc.weight"].Offsets[0] + 2*7
				binary.LittleEndian.PutUint16(data[at:], float16.Inf(1).Bits())
				return data
			}, []string{"h.1.mlp.c_fc.weight", "infinite value at element 7"}},
		{"unknown tensor", fixture.Tiny(), func(h map[string]*tensorInfo, data []byte) []byte {
			h["h.0.attn.rotary.weight"] = &tensorInfo{DType: "F32", Shape: []int{2}, Offsets: []int64{0, 8}}
			return data
		}, []string{"h.0.attn.rotary.weight", "not a GPT-2 checkpoint"}},
		{"more blocks than the config", fixture.Tiny(), func(h map[string]*tensorInfo, data []byte) []byte {
			for name, info := range h {
				if strings.HasPrefix(name, "h.1.") {
					copy := *info
					h["h.2."+strings.TrimPrefix(name, "h.1.")] = &copy
				}
			}
			return data
		}, []string{"tensors for 3 blocks", "n_layer=2", "h.2."}},
		{"offsets that do not fit the shape", fixture.Tiny(), func(h map[string]*tensorInfo, data []byte) []byte {
			h["wpe.weight"].Offsets[1] -= 4
			return data
		}, []string{"wpe.weight", "data offsets"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeVariant(t, c.spec, func(dir string) { editWeights(t, dir, c.edit) })
			m, err := gpt2.LoadDir(dir)
			if err == nil {
				t.Fatalf("loaded %v, want an error", m.Config)
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestCausalMaskBuffersAccepted: checkpoints that keep attn.bias / attn.masked_bias
// (the causal mask, saved by older exporters) load and give the same logits.
func TestCausalMaskBuffersAccepted(t *testing.T) {
	ref := tiny(t)
	ids := []int{8491, 11875, 922, 30}
	want, _, err := ref.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	dir := writeVariant(t, fixture.Tiny(), func(dir string) {
		editWeights(t, dir, func(h map[string]*tensorInfo, data []byte) []byte {
			h["h.0.attn.bias"] = &tensorInfo{DType: "F32", Shape: []int{1}, Offsets: []int64{0, 4}}
			h["h.1.attn.masked_bias"] = &tensorInfo{DType: "F32", Shape: []int{1}, Offsets: []int64{0, 4}}
			return data
		})
	})
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got.Data, want.Data); d != 0 {
		t.Errorf("logits differ by %g", d)
	}
}

// TestKeepHalf: an F16 checkpoint kept in half precision gives the same logits as
// the same checkpoint widened to F32 at load (the values are the same F16 numbers;
// only where they are widened differs).
func TestKeepHalf(t *testing.T) {
	spec := fixture.Tiny()
	spec.DType = "F16"
	dir := writeVariant(t, spec, nil)
	wide, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	half, err := gpt2.LoadDirWith(dir, gpt2.LoadOptions{KeepHalf: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{8491, 11875, 922, 30}
	want, _, err := wide.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := half.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got.Data, want.Data); d > 1e-5 {
		t.Errorf("logits differ by %g", d)
	}
	a, err := wide.LMHead()
	if err != nil {
		t.Fatal(err)
	}
	b, err := half.LMHead()
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(a.Data, b.Data); d != 0 {
		t.Errorf("LMHead differs by %g", d)
	}
}

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

// TestOneCopyOfTheWeights: in a fresh process, loading a GPT-2-small-shaped model
// peaks at about one copy of the weights, and a session of runs at four length
// buckets, a batch, a generation and a graph of the caller's own (Model.Exec) adds
// little to that peak. Holding the file's pages next to the copy, or a copy per
// compiled graph (the weights as graph constants, as before), would each exceed
// the bounds by a whole copy of the weights.
func TestOneCopyOfTheWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and loads a 0.5 GB model")
	}
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GPT2_ONE_COPY_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOneCopyOfTheWeights$", "-test.v")
		cmd.Env = append(os.Environ(), "GPT2_ONE_COPY_CHILD=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child process:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	start := peakRSS(t)
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	weights := float64(4 * m.Summary(1).UniqueParams)
	loaded := peakRSS(t)
	t.Logf("weights %.0f MB; peak RSS before load %.0f MB, after load %.0f MB", weights/1e6, start/1e6, loaded/1e6)
	if got, limit := loaded-start, 1.15*weights+100e6; got > limit {
		t.Errorf("loading raised the peak RSS by %.0f MB for %.0f MB of weights (limit %.0f MB): more than one copy", got/1e6, weights/1e6, limit/1e6)
	}
	if gogc := debug.SetGCPercent(100); gogc >= 100 && os.Getenv("GOGC") == "" {
		t.Errorf("GOGC is %d after loading %.0f MB of weights: the heap may grow by the weights' size before a collection", gogc, weights/1e6)
	} else {
		debug.SetGCPercent(gogc)
	}
	for _, n := range []int{5, 30, 60, 100} {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = (i*7919 + 13) % 50000
		}
		if _, err := m.Run(ids, lm.RunOptions{Logits: lm.LogitsLast, HiddenStates: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.RunBatch([][]int{{1, 2, 3}, {4, 5}}, lm.RunOptions{Logits: lm.LogitsLast}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Generate([]int{8491, 11875, 922, 30}, lm.GenerateOptions{MaxNewTokens: 3}); err != nil {
		t.Fatal(err)
	}
	exec, err := m.Exec("test:unembed", func(scope *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{m.Unembed(scope, m.FinalNorm(scope, in[0]))}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(make([]float32, m.Config.NEmbd))
	if err != nil {
		t.Fatal(err)
	}
	out[0].FinalizeAll()
	session := peakRSS(t)
	t.Logf("peak RSS after runs at 4 lengths, a batch, a generation and an Exec: %.0f MB (+%.0f MB)", session/1e6, (session-loaded)/1e6)
	if got, limit := session-loaded, 0.5*weights; got > limit {
		t.Errorf("the session raised the peak RSS by %.0f MB (limit %.0f MB, weights %.0f MB): graphs hold copies of the weights", got/1e6, limit/1e6, weights/1e6)
	}
	runtime.KeepAlive(m)
}
