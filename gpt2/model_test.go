package gpt2_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lm"
)

// tinyDir is the shared 2-layer fixture (random weights, real tokenizer), cached on disk.
var tinyDir string

var loadTiny = sync.OnceValues(func() (m *gpt2.Model, err error) {
	if tinyDir, err = fixture.Cached(fixture.Tiny()); err == nil {
		m, err = gpt2.LoadDir(tinyDir)
	}
	return m, err
})

// tiny returns the shared fixture model.
func tiny(t testing.TB) *gpt2.Model {
	t.Helper()
	m, err := loadTiny()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestForwardShapes(t *testing.T) {
	m := tiny(t)
	ids, err := m.Tokenizer.Encode("Are cats good?")
	if err != nil {
		t.Fatal(err)
	}
	logits, hidden, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := logits.Shape, []int{4, 50257}; !equal(got, want) {
		t.Errorf("logits shape %v, want %v", got, want)
	}
	if len(hidden) != m.Config.NLayer+1 {
		t.Fatalf("%d hidden states, want %d", len(hidden), m.Config.NLayer+1)
	}
	for i, h := range hidden {
		if !equal(h.Shape, []int{4, m.Config.NEmbd}) {
			t.Errorf("hidden state %d shape %v", i, h.Shape)
		}
	}
	// ln_final.hook_normalized is ln_f before its gain and bias (TransformerLens):
	// zero mean and unit variance at every position.
	res, err := m.Run(ids, lm.RunOptions{Keep: []string{lm.HookNormalized, lm.ResidPost(m.Config.NLayer - 1)}})
	if err != nil {
		t.Fatal(err)
	}
	norm := res.Hooks[lm.HookNormalized]
	for p := 0; p < 4; p++ {
		var mean, sq float64
		for _, v := range norm.Row(p) {
			mean += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(m.Config.NEmbd)
		if math.Abs(mean/n) > 1e-5 || math.Abs(sq/n-1) > 1e-3 {
			t.Errorf("position %d: hook_normalized mean %g, mean square %g", p, mean/n, sq/n)
		}
	}
	if d := maxAbsDiff(res.Hooks[lm.ResidPost(m.Config.NLayer-1)].Data, hidden[len(hidden)-1].Data); d == 0 {
		t.Error("last hidden state should carry ln_f, but equals the raw block output")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestKVCacheMatchesRecomputation checks every generation step (KV cache) against a
// full forward pass over the sequence so far.
func TestKVCacheMatchesRecomputation(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	gen, err := m.Generate(ids, lm.GenerateOptions{MaxLength: 14, MinLength: 14})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Sequence) != 14 || len(gen.Steps) != 10 || len(gen.Generated()) != 10 {
		t.Fatalf("sequence %d tokens, %d steps; want 14 and 10", len(gen.Sequence), len(gen.Steps))
	}
	worst := 0.0
	for s, step := range gen.Steps {
		upto := step.Positions[len(step.Positions)-1] + 1
		logits, hidden, err := m.Forward(gen.Sequence[:upto])
		if err != nil {
			t.Fatal(err)
		}
		if len(step.HiddenStates) != m.Config.NLayer+1 {
			t.Fatalf("step %d: %d hidden states", s, len(step.HiddenStates))
		}
		for l, h := range step.HiddenStates {
			for i, p := range step.Positions {
				worst = math.Max(worst, maxAbsDiff(h.Row(i), hidden[l].Row(p)))
			}
		}
		worst = math.Max(worst, maxAbsDiff(step.Logits, logits.Row(upto-1)))
		// Greedy choice equals the full model's arg-max.
		if want := argmax(logits.Row(upto - 1)); want != step.Token && !(want == 50256 && len(gen.Sequence[:upto]) < 14) {
			t.Errorf("step %d chose %d, full recomputation's arg-max is %d", s, step.Token, want)
		}
	}
	t.Logf("max |KV-cache − recomputation| over hidden states and logits: %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("KV-cache generation differs from recomputation by %g", worst)
	}
	if len(gen.Steps[0].Positions) != 4 || len(gen.Steps[1].Positions) != 1 {
		t.Errorf("step 0 should cover the 4 prompt positions and later steps one: %v, %v", gen.Steps[0].Positions, gen.Steps[1].Positions)
	}
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func TestBatchEqualsOneAtATime(t *testing.T) {
	m := tiny(t)
	prompts := []string{"Are cats good?", "The Eiffel Tower is in the city of", "Hi"}
	var batch [][]int
	for _, p := range prompts {
		ids, _ := m.Tokenizer.Encode(p)
		batch = append(batch, ids)
	}
	keep := []string{lm.ResidPost(0), lm.BlockHook(1, "hook_attn_out")}
	all, err := m.RunBatch(batch, lm.RunOptions{Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range batch {
		one, err := m.Run(ids, lm.RunOptions{Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(one.Logits.Data, all[i].Logits.Data); d > 1e-5 {
			t.Errorf("prompt %d: batched logits differ by %g", i, d)
		}
		for _, k := range keep {
			if d := maxAbsDiff(one.Hooks[k].Data, all[i].Hooks[k].Data); d > 1e-5 {
				t.Errorf("prompt %d hook %s: batched differs by %g", i, k, d)
			}
		}
	}
}

func TestHooksAndPatches(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	plain, err := m.Run(ids, lm.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := m.Run(ids, lm.RunOptions{Keep: lm.HookNames(m.Config)})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(plain.Logits.Data, all.Logits.Data); d != 0 {
		t.Errorf("reading every hook changed the logits by %g", d)
	}
	if len(all.Hooks) != len(lm.HookNames(m.Config)) {
		t.Errorf("kept %d hooks, want %d", len(all.Hooks), len(lm.HookNames(m.Config)))
	}
	// resid_mid = resid_pre + attn_out, resid_post = resid_mid + mlp_out.
	for l := 0; l < m.Config.NLayer; l++ {
		pre, att := all.Hooks[lm.BlockHook(l, "hook_resid_pre")], all.Hooks[lm.BlockHook(l, "hook_attn_out")]
		mid, mlp := all.Hooks[lm.BlockHook(l, "hook_resid_mid")], all.Hooks[lm.BlockHook(l, "hook_mlp_out")]
		post := all.Hooks[lm.ResidPost(l)]
		for i := range pre.Data {
			if d := math.Abs(float64(pre.Data[i] + att.Data[i] - mid.Data[i])); d > 1e-5 {
				t.Fatalf("layer %d: resid_mid != resid_pre + attn_out (%g)", l, d)
			}
			if d := math.Abs(float64(mid.Data[i] + mlp.Data[i] - post.Data[i])); d > 1e-5 {
				t.Fatalf("layer %d: resid_post != resid_mid + mlp_out (%g)", l, d)
			}
		}
	}
	// Patching a hook with its own value changes nothing.
	h := lm.ResidPost(0)
	same, err := m.Run(ids, lm.RunOptions{Patches: []lm.Patch{{Hook: h, Op: lm.PatchReplace, Value: all.Hooks[h]}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(plain.Logits.Data, same.Logits.Data); d > 1e-6 {
		t.Errorf("patching %s with its own value changed logits by %g", h, d)
	}
	// Zeroing attention output at position 2 only: positions 0..1 unchanged, 2.. changed.
	z, err := m.Run(ids, lm.RunOptions{Keep: []string{lm.ResidPost(1)},
		Patches: []lm.Patch{{Hook: lm.BlockHook(1, "hook_attn_out"), Op: lm.PatchZero, Positions: []int{2}}}})
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 4; p++ {
		d := maxAbsDiff(z.Logits.Row(p), plain.Logits.Row(p))
		if (p == 2) != (d > 0) {
			t.Errorf("zeroing layer-1 attention at position 2 changed position %d by %g", p, d)
		}
	}
	// Adding zero changes nothing; adding a vector changes everything downstream.
	add := lm.NewArray(m.Config.NEmbd)
	add.Data[0] = 3
	moved, err := m.Run(ids, lm.RunOptions{Patches: []lm.Patch{{Hook: lm.HookEmbed, Op: lm.PatchAdd, Value: add}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(moved.Logits.Data, plain.Logits.Data); d == 0 {
		t.Error("adding a vector to hook_embed changed nothing")
	}
}

func TestRunErrors(t *testing.T) {
	m := tiny(t)
	long := make([]int, m.Config.NPositions+1)
	vec := lm.NewArray(m.Config.NEmbd)
	cases := []struct {
		name string
		ids  []int
		opts lm.RunOptions
		want string
	}{
		{"empty prompt", nil, lm.RunOptions{}, "empty prompt"},
		{"too long", long, lm.RunOptions{}, "n_positions"},
		{"bad id", []int{1, 60000}, lm.RunOptions{}, "outside the vocabulary"},
		{"unknown hook", []int{1, 2}, lm.RunOptions{Keep: []string{"blocks.0.hook_nope"}}, "valid names"},
		{"hook past last layer", []int{1, 2}, lm.RunOptions{Keep: []string{"blocks.9.hook_resid_post"}}, "unknown hook"},
		{"position out of range", []int{1, 2}, lm.RunOptions{Patches: []lm.Patch{{Hook: lm.HookEmbed, Op: lm.PatchZero, Positions: []int{5}}}}, "out of range"},
		{"replace without value", []int{1, 2}, lm.RunOptions{Patches: []lm.Patch{{Hook: lm.HookEmbed, Op: lm.PatchReplace}}}, "needs a Value"},
		{"wrong value shape", []int{1, 2}, lm.RunOptions{Patches: []lm.Patch{{Hook: lm.HookEmbed, Op: lm.PatchAdd, Value: lm.NewArray(3, m.Config.NEmbd)}}}, "does not fit"},
		{"patched twice", []int{1, 2}, lm.RunOptions{Patches: []lm.Patch{{Hook: lm.HookEmbed, Op: lm.PatchAdd, Value: vec}, {Hook: lm.HookEmbed, Op: lm.PatchZero}}}, "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Run(c.ids, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	gcases := []struct {
		name string
		opts lm.GenerateOptions
		want string
	}{
		{"no length", lm.GenerateOptions{}, "MaxLength"},
		{"no room", lm.GenerateOptions{MaxLength: 2}, "no room"},
		{"past positions", lm.GenerateOptions{MaxLength: 1000}, "n_positions"},
		{"min above max", lm.GenerateOptions{MaxLength: 6, MinLength: 9}, "min length"},
	}
	for _, c := range gcases {
		t.Run("generate "+c.name, func(t *testing.T) {
			_, err := m.Generate([]int{1, 2, 3}, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// writeVariant writes a tiny fixture and lets edit break it.
func writeVariant(t *testing.T, spec fixture.Spec, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	if err := fixture.Write(dir, spec); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	editConfig := func(key string, value any) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, "config.json")
			var cfg map[string]any
			data, _ := os.ReadFile(p)
			json.Unmarshal(data, &cfg)
			cfg[key] = value
			data, _ = json.Marshal(cfg)
			os.WriteFile(p, data, 0o644)
		}
	}
	truncate := func(keep float64) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, int64(float64(st.Size())*keep))
		}
	}
	rewriteHeader := func(change func(h map[string]map[string]any)) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, "model.safetensors")
			data, _ := os.ReadFile(p)
			n := binary.LittleEndian.Uint64(data[:8])
			var raw map[string]json.RawMessage
			json.Unmarshal(data[8:8+n], &raw)
			h := map[string]map[string]any{}
			for k, v := range raw {
				var m map[string]any
				json.Unmarshal(v, &m)
				h[k] = m
			}
			change(h)
			hdr, _ := json.Marshal(h)
			out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
			out = append(append(out, hdr...), data[8+n:]...)
			os.WriteFile(p, out, 0o644)
		}
	}
	cases := []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"missing config", func(dir string) { os.Remove(filepath.Join(dir, "config.json")) }, "config.json"},
		{"unsupported activation", editConfig("activation_function", "relu"), `activation_function "relu" is not supported`},
		{"bad head count", editConfig("n_head", 5), "divisible"},
		{"other model type", editConfig("model_type", "bert"), `model_type "bert" is not supported: the families that load are gpt2, llama, qwen2, qwen3, gpt_neox`},
		{"llama keys missing", editConfig("model_type", "llama"), "num_hidden_layers must be a positive integer"},
		{"missing weights", func(dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) }, "model.safetensors"},
		{"missing tokenizer", func(dir string) {
			for _, f := range []string{"tokenizer.json", "vocab.json", "merges.txt"} {
				os.Remove(filepath.Join(dir, f))
			}
		}, "tokenizer"},
		{"truncated weights", truncate(0.5), "truncated"},
		{"truncated header", truncate(0.00001), "model.safetensors"},
		{"config shape mismatch", editConfig("n_embd", 64), "shape"},
		{"offsets past the end", rewriteHeader(func(h map[string]map[string]any) {
			h["wpe.weight"]["data_offsets"] = []int64{1 << 40, 1<<40 + 64*32*4}
		}), "model.safetensors"},
		{"wrong dtype", rewriteHeader(func(h map[string]map[string]any) { h["ln_f.bias"]["dtype"] = "I32" }), "dtype"},
		{"missing tensor", rewriteHeader(func(h map[string]map[string]any) { delete(h, "h.1.mlp.c_fc.bias") }), "h.1.mlp.c_fc.bias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeVariant(t, fixture.Tiny(), c.edit)
			_, err := gpt2.LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestWeightFormats loads the same weights stored with a "transformer." prefix and an
// explicit lm_head, and in half precision.
func TestWeightFormats(t *testing.T) {
	ref := tiny(t)
	ids, _ := ref.Tokenizer.Encode("Are cats good?")
	want, _, err := ref.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*fixture.Spec)
		tol  float64
	}{
		{"transformer prefix and lm_head", func(s *fixture.Spec) { s.Prefix = "transformer."; s.WithLMHead = true }, 0},
		{"F16", func(s *fixture.Spec) { s.DType = "F16" }, 0.05},
		{"BF16", func(s *fixture.Spec) { s.DType = "BF16" }, 0.3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := fixture.Tiny()
			c.edit(&spec)
			m, err := gpt2.LoadDir(writeVariant(t, spec, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := m.Forward(ids)
			if err != nil {
				t.Fatal(err)
			}
			d := maxAbsDiff(got.Data, want.Data)
			t.Logf("max |logits − F32 logits| = %.3g", d)
			if d > c.tol {
				t.Errorf("logits differ by %g (> %g)", d, c.tol)
			}
		})
	}
}

func TestSummaryCounts(t *testing.T) {
	cfg := &lm.Config{NLayer: 12, NHead: 12, NEmbd: 768, NPositions: 1024, VocabSize: 50257, LayerNormEps: 1e-5, Activation: "gelu_new", EOSTokenID: 50256}
	s := lm.NewSummary(cfg, 4)
	if s.UniqueParams != 124439808 || s.TotalParams != 163037184 || s.Blocks != 12 || s.Outputs != 50257 {
		t.Errorf("summary: unique %d total %d blocks %d outputs %d", s.UniqueParams, s.TotalParams, s.Blocks, s.Outputs)
	}
	text := s.String()
	for _, want := range []string{"163,037,184", "124,439,808", "counts them twice", "[1, 4, 50257]", "h.11 (GPT2Block)", "7,087,872"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary text lacks %q:\n%s", want, text)
		}
	}
}

// TestSmallShapedModel writes a GPT-2-small-shaped model (random weights) and runs it.
func TestSmallShapedModel(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 500 MB model")
	}
	dir := t.TempDir()
	if err := fixture.Write(dir, fixture.Small()); err != nil {
		t.Fatal(err)
	}
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary(4)
	if s.UniqueParams != 124439808 || s.TotalParams != 163037184 {
		t.Errorf("params %d / %d", s.UniqueParams, s.TotalParams)
	}
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	logits, hidden, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(hidden) != 13 || !equal(logits.Shape, []int{4, 50257}) {
		t.Errorf("%d hidden states, logits %v", len(hidden), logits.Shape)
	}
	for _, v := range logits.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite logit")
		}
	}
	if got := m.Modules(); len(got) != 2 {
		t.Errorf("modules %v", got)
	}
}

// TestGenerateToFullContext generates up to n_positions, where the padded steps no
// longer fit in the cache, and checks the last step against recomputation.
func TestGenerateToFullContext(t *testing.T) {
	m := tiny(t)
	gen, err := m.Generate([]int{8491, 11875, 922}, lm.GenerateOptions{MaxLength: m.Config.NPositions, MinLength: m.Config.NPositions})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Sequence) != m.Config.NPositions {
		t.Fatalf("%d tokens, want %d", len(gen.Sequence), m.Config.NPositions)
	}
	for _, s := range []int{len(gen.Steps) - 3, len(gen.Steps) - 1} {
		step := gen.Steps[s]
		upto := step.Positions[0] + 1
		logits, hidden, err := m.Forward(gen.Sequence[:upto])
		if err != nil {
			t.Fatal(err)
		}
		d := maxAbsDiff(step.Logits, logits.Row(upto-1))
		for l, h := range step.HiddenStates {
			d = math.Max(d, maxAbsDiff(h.Row(0), hidden[l].Row(upto-1)))
		}
		if d > 1e-4 {
			t.Errorf("step %d (position %d) differs from recomputation by %g", s, upto-1, d)
		}
	}
}
