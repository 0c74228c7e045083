package engine

import (
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/internal/stfile"
	"github.com/logitlens-go/logitlens/lensnb"
)

func tinyModel(t *testing.T) *lensnb.Model {
	t.Helper()
	m, err := LoadModel("tiny", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// textIDs is a token stream with structure a tiny model's layers disagree on.
func textIDs(m *lensnb.Model, t *testing.T) []int {
	t.Helper()
	ids, err := m.Tokenizer.Encode(strings.Repeat("The cat sat on the mat. Are cats good? The dog ran to the park, and the cat followed it home. ", 20))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestIdentityTranslatorsAreTheLogitLens(t *testing.T) {
	m := tinyModel(t)
	tl, err := lensnb.NewTunedLens(m)
	if err != nil {
		t.Fatal(err)
	}
	logit, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{Target: lensnb.TokenID(922)})
	if err != nil {
		t.Fatal(err)
	}
	tuned, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{Target: lensnb.TokenID(922), Tuned: tl})
	if err != nil {
		t.Fatal(err)
	}
	if tuned.Lens != "tuned" || logit.Lens != "" {
		t.Errorf("Lens = %q / %q", tuned.Lens, logit.Lens)
	}
	a, _ := json.Marshal(logit.Cells)
	b, _ := json.Marshal(tuned.Cells)
	if string(a) != string(b) {
		t.Error("untrained (identity) translators must read exactly as the logit lens with ln_f")
	}
	if _, err := lensnb.Prompt(m, "x", lensnb.Options{Tuned: tl, NoFinalNorm: true}); err == nil {
		t.Error("the tuned lens without ln_f must be refused")
	}
	if _, err := lensnb.Prompt(m, "x", lensnb.Options{Tuned: tl, ResidMid: true}); err == nil {
		t.Error("the tuned lens with resid_mid states must be refused")
	}
}

func TestTrainTunedLensLowersKLAndRoundTrips(t *testing.T) {
	m := tinyModel(t)
	ids := textIDs(m, t)
	dir := t.TempDir()
	opts := lensnb.TuneOptions{Steps: 40, Rows: 2, SeqLen: 24, Checkpoint: filepath.Join(dir, "ckpt"), CheckpointEvery: 20, Progress: io.Discard}
	tl, hist, err := lensnb.TrainTunedLens(m, ids, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 40 || !(hist[len(hist)-1].Loss < hist[0].Loss) {
		t.Fatalf("the training loss did not go down: %v → %v", hist[0].Loss, hist[len(hist)-1].Loss)
	}
	held := [][]int{ids[7:31], ids[301:325]}
	q, err := lensnb.CompareLenses(m, tl, held)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range q[:len(q)-1] { // the final state is the model's output either way
		if !(l.TunedKL < l.LogitKL) {
			t.Errorf("%s: tuned KL %.4f is not below the logit lens's %.4f", l.State, l.TunedKL, l.LogitKL)
		}
	}
	if last := q[len(q)-1]; last.TunedKL != 0 || last.LogitKL != 0 {
		t.Errorf("the final state's KL to itself: %v / %v", last.TunedKL, last.LogitKL)
	}

	// Save and load: the same translators; refused for another model.
	if err := tl.Save(filepath.Join(dir, "lens")); err != nil {
		t.Fatal(err)
	}
	back, err := lensnb.LoadTunedLens(m, filepath.Join(dir, "lens"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != tl.Hash() {
		t.Error("translators changed through Save and LoadTunedLens")
	}
	other, err := LoadModel("random", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lensnb.LoadTunedLens(other, filepath.Join(dir, "lens")); err == nil || !strings.Contains(err.Error(), "n_layer=2") {
		t.Errorf("loading translators for another model: %v, want a clear refusal", err)
	}
	// Same shapes, other weights: refused by the weights hash.
	tl2 := *tl
	tl2.For.WeightsHash = "0000"
	if err := tl2.CheckModel(m); err == nil || !strings.Contains(err.Error(), "other weights") {
		t.Errorf("translators of other weights: %v", err)
	}

	// Without a checkpoint the same settings and seed train the same translators.
	plain := opts
	plain.Checkpoint = ""
	same, _, err := lensnb.TrainTunedLens(m, ids, plain)
	if err != nil {
		t.Fatal(err)
	}
	if same.Hash() != tl.Hash() {
		t.Error("the same settings and seed must train the same translators")
	}
	// An interrupted run resumes from its checkpoint (with its momentum) and ends
	// where the uninterrupted one did: stop at 20 by copying the checkpoint of a
	// 20-step prefix, then resume.
	stopped := opts
	stopped.Checkpoint = filepath.Join(dir, "ckpt-stopped")
	if _, _, err := trainTunedLensUntil(gptOf(m), ids, stopped, nil, 20); err != nil {
		t.Fatal(err)
	}
	resumed, hist2, err := lensnb.TrainTunedLens(m, ids, stopped)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist2) != 20 || resumed.Hash() != tl.Hash() {
		t.Errorf("the resumed run trained %d steps and ended at %s, the uninterrupted one at %s", len(hist2), resumed.Hash(), tl.Hash())
	}
	if _, _, err := lensnb.TrainTunedLens(m, ids, func() lensnb.TuneOptions { x := opts; x.LR = 0.5; return x }()); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resuming with other settings: %v", err)
	}
}

func TestTuneErrors(t *testing.T) {
	m := tinyModel(t)
	for _, c := range []struct {
		ids  []int
		opts lensnb.TuneOptions
		want string
	}{
		{[]int{1, 2, 3}, lensnb.TuneOptions{SeqLen: 8}, "fewer than one window"},
		{make([]int, 100), lensnb.TuneOptions{SeqLen: 1000}, "n_positions"},
		{make([]int, 100), lensnb.TuneOptions{SeqLen: 8, Momentum: 1.5}, "momentum"},
		{append(make([]int, 99), -4), lensnb.TuneOptions{SeqLen: 8}, "outside the vocabulary"},
	} {
		if _, _, err := lensnb.TrainTunedLens(m, c.ids, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lensnb.TrainTunedLens(%+v): %v, want %q", c.opts, err, c.want)
		}
	}
	if _, err := lensnb.LoadTunedLens(m, t.TempDir()); err == nil || !strings.Contains(err.Error(), "logitlens tune") {
		t.Errorf("loading from an empty folder: %v", err)
	}
}

// TestTunedLossGradientMatchesPyTorch compares the training loss and its gradient
// with reference/tuned_lens_ref.py on the same weights and batch.
func TestTunedLossGradientMatchesPyTorch(t *testing.T) {
	reftest.Require(t)
	m := tinyModel(t)
	tl, err := lensnb.NewTunedLens(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range tl.W { // non-trivial translators
		for j := range tl.W[i] {
			tl.W[i][j] = float32(rng.NormFloat64() * 0.05)
		}
		for j := range tl.B[i] {
			tl.B[i][j] = float32(rng.NormFloat64() * 0.1)
		}
	}
	ids := textIDs(m, t)
	rows := [][]int{ids[:12], ids[40:52]}
	tu, err := newTuner(gptOf(m), tl, lensnb.TuneOptions{Momentum: 0, WeightDecay: 0, ClipNorm: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	loss, per, err := tu.step(rows, 1e-30) // velocity after one step from 0 = the gradient
	if err != nil {
		t.Fatal(err)
	}
	var got lensnb.TunedLens
	got.W, got.B = make([][]float32, len(tl.W)), make([][]float32, len(tl.B))
	for i := range tl.W {
		got.W[i], got.B[i] = make([]float32, len(tl.W[i])), make([]float32, len(tl.B[i]))
	}
	if err := tu.read(&got); err != nil {
		t.Fatal(err)
	}

	x, hf, err := tuneInputs(gptOf(m), rows)
	if err != nil {
		t.Fatal(err)
	}
	wte, _ := m.LMHead()
	gain, _ := m.Weight("ln_f.weight")
	bias, _ := m.Weight("ln_f.bias")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
	n, d := m.Config.NLayer, m.Config.NEmbd
	var w, b []float32
	for i := range tl.W {
		w, b = append(w, tl.W[i]...), append(b, tl.B[i]...)
	}
	xs, _ := tensors.CopyFlatData[float32](x)
	hs, _ := tensors.CopyFlatData[float32](hf)
	writeF32(t, in, map[string]string{"eps": "1e-05"}, []named{{"x", x.Shape().Dimensions, xs}, {"hf", hf.Shape().Dimensions, hs},
		{"W", []int{n, d, d}, w}, {"b", []int{n, d}, b}, {"wte", wte.Shape, wte.Data}, {"gain", []int{d}, gain.Data}, {"bias", []int{d}, bias.Data}})
	cmd := exec.Command("/usr/bin/python3", filepath.Join(reftest.Root(t), "reference", "tuned_lens_ref.py"), in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tuned_lens_ref.py: %v\n%s", err, msg)
	}
	ref := readF32(t, out)
	if math.Abs(loss-float64(ref["loss"][0])) > 1e-4 {
		t.Errorf("loss %.6f, PyTorch %.6f", loss, ref["loss"][0])
	}
	for i, v := range per {
		if math.Abs(v-float64(ref["per_layer"][i])) > 1e-4 {
			t.Errorf("layer %d: KL %.6f, PyTorch %.6f", i, v, ref["per_layer"][i])
		}
	}
	worst := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < d*d; j++ {
			worst = math.Max(worst, math.Abs(float64(got.VelW[i*d*d+j]-ref["dW"][i*d*d+j])))
		}
		for j := 0; j < d; j++ {
			worst = math.Max(worst, math.Abs(float64(got.VelB[i*d+j]-ref["db"][i*d+j])))
		}
	}
	if worst > 1e-4 {
		t.Errorf("gradient differs from PyTorch's by up to %g (tolerance 1e-4)", worst)
	}
	t.Logf("loss %.6f (PyTorch %.6f); largest gradient difference %.2g", loss, ref["loss"][0], worst)
}

type named struct {
	name string
	dims []int
	data []float32
}

func writeF32(t testing.TB, path string, meta map[string]string, ts []named) {
	t.Helper()
	var out []stfile.Tensor
	for _, x := range ts {
		out = append(out, stfile.Float32(x.name, x.dims, x.data))
	}
	if err := stfile.Write(path, out, meta); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := stfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for name, info := range f.Tensors {
		n := 1
		for _, d := range info.Shape {
			n *= d
		}
		if out[name], err = f.Float32(name, n); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
