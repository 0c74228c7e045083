package gpt2

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/gpt2vocab"
	"github.com/logitlens-go/logitlens/lm"
)

func trainTestModel(t *testing.T, seed uint64) *Model {
	t.Helper()
	tj, err := gpt2vocab.TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := lm.ParseTokenizer(tj)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{NLayer: 2, NHead: 2, NEmbd: 32, NPositions: 32, VocabSize: 50257, LayerNormEps: 1e-5, Activation: "gelu_new", EOSTokenID: 50256, BOSTokenID: 50256}
	m, err := NewRandom(cfg, tok, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// patternRows are batches of one short repeating token pattern, which a model
// learns within a few dozen steps.
func patternRows(batch, width int, rng *rand.Rand) [][]int {
	pattern := []int{464, 3797, 318, 922, 13, 198}
	rows := make([][]int, batch)
	for i := range rows {
		off := rng.IntN(len(pattern))
		for j := 0; j < width; j++ {
			rows[i] = append(rows[i], pattern[(off+j)%len(pattern)])
		}
	}
	return rows
}

func TestNewRandomInit(t *testing.T) {
	a, b := trainTestModel(t, 7), trainTestModel(t, 7)
	c := trainTestModel(t, 8)
	wa, _ := a.Weight("h.1.mlp.c_proj.weight")
	wb, _ := b.Weight("h.1.mlp.c_proj.weight")
	wc, _ := c.Weight("h.1.mlp.c_proj.weight")
	same, diff := true, false
	var sq float64
	for i := range wa.Data {
		same = same && wa.Data[i] == wb.Data[i]
		diff = diff || wa.Data[i] != wc.Data[i]
		sq += float64(wa.Data[i]) * float64(wa.Data[i])
	}
	if !same || !diff {
		t.Errorf("same seed must give the same weights (%v) and another seed others (%v)", same, diff)
	}
	std := math.Sqrt(sq / float64(len(wa.Data)))
	if want := 0.02 / math.Sqrt(4); math.Abs(std-want) > 0.1*want {
		t.Errorf("residual projection std %.4f, want ≈ 0.02/√(2·n_layer) = %.4f", std, want)
	}
	g, _ := a.Weight("ln_f.weight")
	bias, _ := a.Weight("h.0.attn.c_attn.bias")
	if g.Data[0] != 1 || bias.Data[0] != 0 {
		t.Errorf("layer-norm gains must start at 1 (%v) and biases at 0 (%v)", g.Data[0], bias.Data[0])
	}
}

func TestTrainerLearnsAndResumes(t *testing.T) {
	opts := TrainOptions{Batch: 4, SeqLen: 16, Steps: 40, Warmup: 4, LR: 3e-3, MinLR: 3e-4, WeightDecay: 0.1, ClipNorm: 1}
	batchAt := func(step int) [][]int { return patternRows(4, 17, rand.New(rand.NewPCG(1, uint64(step)))) }

	m := trainTestModel(t, 1)
	tr, err := NewTrainer(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	ckpt := filepath.Join(t.TempDir(), "ckpt.safetensors")
	for step := 0; step < 30; step++ {
		l, err := tr.Step(batchAt(step))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
		if step == 19 {
			if err := tr.SaveCheckpoint(ckpt, map[string]string{"note": "at 20"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if tr.StepsDone() != 30 {
		t.Errorf("StepsDone = %d after 30 steps", tr.StepsDone())
	}
	first, last := losses[0], losses[len(losses)-1]
	if first < 10 || last > first-3 {
		t.Errorf("loss went %.3f → %.3f over 30 steps on a repeating pattern; want a start near ln(50257)≈10.8 and a drop of > 3 nats", first, last)
	}
	// The trained weights are the model's: its validation loss drops too.
	if vl, err := m.Loss(batchAt(1000)); err != nil || vl > last+0.5 {
		t.Errorf("Model.Loss after training = %v, %v; want close to the training loss %.3f", vl, err, last)
	}

	// Resume from step 20 in a fresh model: the next ten steps repeat the original's.
	r := trainTestModel(t, 99) // other initial weights: the checkpoint must replace them all
	meta, err := r.RestoreCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if meta["note"] != "at 20" {
		t.Errorf("checkpoint metadata = %v", meta)
	}
	tr2, err := NewTrainer(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if tr2.StepsDone() != 20 {
		t.Fatalf("resumed trainer at step %d, want 20", tr2.StepsDone())
	}
	for step := 20; step < 30; step++ {
		l, err := tr2.Step(batchAt(step))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l-losses[step]) > 1e-4*math.Max(1, losses[step]) {
			t.Errorf("step %d: resumed loss %.6f, uninterrupted %.6f", step, l, losses[step])
		}
	}
}

func TestTrainOptionsErrors(t *testing.T) {
	m := trainTestModel(t, 1)
	for _, c := range []struct {
		opts TrainOptions
		want string
	}{
		{TrainOptions{Batch: -1}, "batch"},
		{TrainOptions{SeqLen: 33}, "n_positions=32"},
		{TrainOptions{SeqLen: 8, Steps: 10, Warmup: 10}, "warm-up"},
		{TrainOptions{SeqLen: 8, LR: 1e-3, MinLR: 1e-2}, "learning rates"},
		{TrainOptions{SeqLen: 8, WeightDecay: -1}, "weight decay"},
	} {
		if _, err := NewTrainer(m, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTrainer(%+v) = %v, want an error about %q", c.opts, err, c.want)
		}
	}
	tr, err := NewTrainer(m, TrainOptions{Batch: 2, SeqLen: 8, Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rows [][]int
		want string
	}{
		{[][]int{make([]int, 9)}, "got 1 rows"},
		{[][]int{make([]int, 9), make([]int, 8)}, "row 1 has 8 tokens"},
		{[][]int{make([]int, 9), append(make([]int, 8), 50257)}, "outside the vocabulary"},
	} {
		if _, err := tr.Step(c.rows); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Step: %v, want an error about %q", err, c.want)
		}
	}
	if _, err := m.Loss([][]int{{1}}); err == nil {
		t.Error("Loss of a one-token row must fail")
	}
}

func TestLearningRateSchedule(t *testing.T) {
	o := TrainOptions{Steps: 110, Warmup: 10, LR: 1e-3, MinLR: 1e-4}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 1e-4}, {5, 5.5e-4}, {10, 1e-3}, {60, 5.5e-4}, {109, 1e-4 + 9e-4*(1+math.Cos(math.Pi*99/100))/2}} {
		if got := o.LearningRate(c.step); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("LearningRate(%d) = %g, want %g", c.step, got, c.want)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainTestModel(t, 3)
	ids := []int{464, 3797, 318, 922, 13}
	want, _, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, half := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "model")
		if err := m.Save(dir, SaveOptions{Half: half, Metadata: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		back, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := back.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		tol := 0.0
		if half {
			tol = 2e-2 // F16 weights: relative rounding 2^-11 on each weight
		}
		var worst float64
		for i := range want.Data {
			worst = math.Max(worst, math.Abs(float64(got.Data[i]-want.Data[i])))
		}
		if worst > tol {
			t.Errorf("half=%v: logits after Save+LoadDir differ by %g (tolerance %g)", half, worst, tol)
		}
		if back.Tokenizer.Decode(ids) != m.Tokenizer.Decode(ids) {
			t.Errorf("half=%v: the saved tokenizer decodes differently", half)
		}
		if half {
			if _, err := back.RestoreCheckpoint(filepath.Join(dir, WeightsFile)); err == nil || !strings.Contains(err.Error(), "no training state") {
				t.Errorf("restoring a model file as a checkpoint: %v, want a clear error", err)
			}
		}
	}
}

func TestRestoreCheckpointErrors(t *testing.T) {
	m := trainTestModel(t, 1)
	tr, err := NewTrainer(m, TrainOptions{Batch: 2, SeqLen: 8, Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "c.safetensors")
	if err := tr.SaveCheckpoint(ckpt, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(ckpt)
	trunc := filepath.Join(dir, "trunc.safetensors")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	other := trainTestModel(t, 1)
	other.Config = &Config{NLayer: 3, NHead: 2, NEmbd: 32, NPositions: 32, VocabSize: 50257}
	for _, c := range []struct {
		m    *Model
		path string
		want string
	}{
		{trainTestModel(t, 2), trunc, "damaged"},
		{other, ckpt, "n_layer=2"},
		{trainTestModel(t, 2), filepath.Join(dir, "none"), "no such file"},
	} {
		if _, err := c.m.RestoreCheckpoint(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RestoreCheckpoint(%s) = %v, want an error about %q", filepath.Base(c.path), err, c.want)
		}
	}
}
