package lensnb

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lm"
)

// TuneOptions set up TrainTunedLens. Zero fields take the defaults in brackets.
type TuneOptions struct {
	// Steps of SGD [150]; each trains on Rows sequences [4] of SeqLen tokens [128]
	// (≤ n_positions) drawn from the text.
	Steps, Rows, SeqLen int
	// LR is the peak learning rate [0.25], reached after Warmup steps [Steps/10]
	// and decayed linearly to 0 at Steps; Momentum is Nesterov's [0.9];
	// WeightDecay [1e-3]; ClipNorm clips the gradients' global norm [1.0].
	LR, Momentum, WeightDecay, ClipNorm float64
	Warmup                              int
	// Seed draws the training windows [1].
	Seed uint64
	// Progress receives a line every 10 steps: tokens/s and the loss per layer.
	Progress io.Writer
	// Checkpoint, when set, is a folder where the translators and the optimiser's
	// state are saved every CheckpointEvery steps [25] (atomically) and resumed from.
	Checkpoint      string
	CheckpointEvery int
}

func (o TuneOptions) withDefaults(cfg *lm.Config) TuneOptions {
	if o.Steps == 0 {
		o.Steps = 150
	}
	if o.Rows == 0 {
		o.Rows = 4
	}
	if o.SeqLen == 0 {
		o.SeqLen = min(128, cfg.NPositions)
	}
	if o.LR == 0 {
		// The paper's 1.0 goes with 2¹⁸ tokens a step; with the few hundred a CPU
		// step holds, the gradient is noisier: on the demo model (60 steps of 256
		// tokens) lr 1.0 left blocks 3–4 worse than the logit lens (KL 0.021 and 0.016
		// against 0.023 and 0.0045), lr 0.25 better at every state (0.0044, 0.0012).
		o.LR = 0.25
	}
	if o.Momentum == 0 {
		o.Momentum = 0.9
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = 1e-3
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = 1
	}
	if o.Warmup == 0 {
		o.Warmup = o.Steps / 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 25
	}
	return o
}

func (o TuneOptions) check(cfg *lm.Config) error {
	switch {
	case o.Steps < 1 || o.Rows < 1:
		return fmt.Errorf("tune: steps (%d) and rows (%d) must be ≥ 1", o.Steps, o.Rows)
	case o.SeqLen < 2 || o.SeqLen > cfg.NPositions:
		return fmt.Errorf("tune: sequence length %d must be in 2..n_positions=%d", o.SeqLen, cfg.NPositions)
	case !(o.LR > 0) || o.Momentum < 0 || o.Momentum >= 1 || o.WeightDecay < 0:
		return fmt.Errorf("tune: need lr > 0, 0 ≤ momentum < 1, weight decay ≥ 0 (got %g, %g, %g)", o.LR, o.Momentum, o.WeightDecay)
	case o.Warmup < 0 || o.Warmup >= o.Steps:
		return fmt.Errorf("tune: warm-up %d must be in 0..steps-1", o.Warmup)
	}
	return nil
}

// learningRate is the schedule: linear warm-up, then linear decay to 0 (the
// tuned-lens paper's, transformers' get_linear_schedule_with_warmup).
func (o TuneOptions) learningRate(step int) float64 {
	if step < o.Warmup {
		return o.LR * float64(step+1) / float64(o.Warmup+1)
	}
	return o.LR * float64(o.Steps-step) / float64(o.Steps-o.Warmup)
}

// TuneStep reports one training step.
type TuneStep struct {
	Step int
	// Loss is Σ over translators of KL(final ‖ tuned lens), nats; PerLayer each term
	// (translator 0: the embeddings, i+1: blocks.i).
	Loss     float64
	PerLayer []float64
	Seconds  float64
}

// tuner is the compiled training step over its own store: the translators (W
// [n, d, d], B [n, d], trainable), their Nesterov velocities, and frozen copies of
// the model's wte and ln_f.
type tuner struct {
	m     *gpt2.Model
	opts  TuneOptions
	store *model.Store
	exec  *model.Exec
}

// tuneStorePaths name the tuner's variables.
const (
	tunePathW, tunePathB   = "/translators/weight", "/translators/bias"
	tunePathVW, tunePathVB = "/velocity/weight", "/velocity/bias"
	tunePathWTE            = "/frozen/wte"
	tunePathGain           = "/frozen/ln_f_weight"
	tunePathBias           = "/frozen/ln_f_bias"
)

func newTuner(m *gpt2.Model, tl *TunedLens, opts TuneOptions) (*tuner, error) {
	if m.Remote() != nil {
		return nil, errors.New("tune: the model is held by a resident server; load it in this program (LOGITLENS_RESIDENT=0, lensnb.LoadModel) to train translators")
	}
	cfg := m.Config
	n, d := cfg.NLayer, cfg.NEmbd
	store := model.NewStore()
	add := func(path string, data []float32, trainable bool, dims ...int) error {
		v, err := store.CreateVariable(path, tensors.FromFlatDataAndDimensions(data, dims...))
		if err != nil {
			return err
		}
		v.SetTrainable(trainable)
		return nil
	}
	flat := func(parts [][]float32) []float32 {
		var out []float32
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	wte, err := m.LMHead()
	if err != nil {
		return nil, err
	}
	gain, err := m.Weight("ln_f.weight")
	if err != nil {
		return nil, err
	}
	bias, err := m.Weight("ln_f.bias")
	if err != nil {
		return nil, err
	}
	vw, vb := tl.velW, tl.velB
	if vw == nil {
		vw, vb = make([]float32, n*d*d), make([]float32, n*d)
	}
	for _, v := range []struct {
		path      string
		data      []float32
		trainable bool
		dims      []int
	}{
		{tunePathW, flat(tl.W), true, []int{n, d, d}}, {tunePathB, flat(tl.B), true, []int{n, d}},
		{tunePathVW, vw, false, []int{n, d, d}}, {tunePathVB, vb, false, []int{n, d}},
		{tunePathWTE, wte.Data, false, wte.Shape}, {tunePathGain, gain.Data, false, []int{d}}, {tunePathBias, bias.Data, false, []int{d}},
	} {
		if err := add(v.path, v.data, v.trainable, v.dims...); err != nil {
			return nil, fmt.Errorf("tune: %w", err)
		}
	}
	t := &tuner{m: m, opts: opts, store: store}
	t.exec, err = model.NewExec(m.Backend(), store, func(scope *model.Scope, in []*Node) []*Node {
		store.SetTraining(in[0].Graph(), true)
		loss, perLayer := tunedLossGraph(scope, cfg, in[0], in[1])
		t.updateGraph(scope, loss, in[2])
		return []*Node{loss, perLayer}
	})
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	return t, nil
}

// tunedLossGraph is the tuned lens's training loss for states x [n, N, d] (the
// embeddings and blocks 0..n-2's outputs at N positions) and the model's final
// hidden states hf [N, d] (after ln_f): Σ_ℓ mean_t KL(p_final ‖ p_ℓ), with p_ℓ =
// softmax(z_ℓ), z_ℓ = lm_head(ln_f(h + W_ℓh + b_ℓ)). It returns the loss and its n
// terms.
//
// Written so that only the logits and their log-sum-exp are [n, N, vocab]:
// KL(p ‖ softmax z) = Σ_v p_v log p_v − Σ_v p_v z_v + logsumexp(z), and Σ_v p_v z_v
// = ln_f(·) · (Σ_v p_v wte_v), the final distribution's expected embedding [N, d],
// computed once per position. Written as Σ p·(log p − log q) over the vocabulary,
// the step took several times longer (each elementwise pass over [n, N, vocab]).
func tunedLossGraph(scope *model.Scope, cfg *lm.Config, x, hf *Node) (loss, perLayer *Node) {
	g := x.Graph()
	get := func(path string) *Node { return scope.Store().GetVariable(path).NodeValue(g) }
	w, b := get(tunePathW), get(tunePathB)
	wte, gain, bias := get(tunePathWTE), get(tunePathGain), get(tunePathBias)
	y := Add(Add(x, Einsum("sed,snd->sne", w, x)), ExpandAxes(b, 1)) // [n, N, d]
	mean := ReduceAndKeep(y, ReduceMean, -1)
	centred := Sub(y, mean)
	variance := ReduceAndKeep(Square(centred), ReduceMean, -1)
	normed := Div(centred, Sqrt(AddScalar(variance, cfg.LayerNormEps)))
	normed = Add(Mul(normed, ExpandLeftToRank(gain, 3)), ExpandLeftToRank(bias, 3))
	z := Einsum("snd,vd->snv", normed, wte) // [n, N, V]
	zMax := StopGradient(ReduceAndKeep(z, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(z, zMax)), -1)), Squeeze(zMax, -1)) // [n, N]

	// The target, without gradient: p = softmax(hf·wteᵀ), its negative entropy
	// Σ p log p [N], and its expected embedding Σ_v p_v wte_v [N, d].
	logP := StopGradient(LogSoftmax(Einsum("nd,vd->nv", hf, wte), -1)) // [N, V]
	p := Exp(logP)
	negEntropy := StopGradient(ReduceSum(Mul(p, logP), -1)) // [N]
	expected := StopGradient(Einsum("nv,vd->nd", p, wte))   // [N, d]
	pz := Einsum("snd,nd->sn", normed, expected)            // Σ_v p_v z_v, [n, N]
	kl := Add(Sub(ExpandAxes(negEntropy, 0), pz), lse)      // [n, N]
	perLayer = ReduceMean(kl, -1)
	return ReduceAllSum(perLayer), perLayer
}

// updateGraph takes one step of SGD with Nesterov momentum (PyTorch's form, as the
// tuned-lens paper trains): g ← clip(∇) + wd·θ; v ← μv + g; θ ← θ − lr·(g + μv).
// GoMLX's SGD has no momentum, hence this optimiser; its gradients are GoMLX's
// autodiff of the loss above.
func (t *tuner) updateGraph(scope *model.Scope, loss, lr *Node) {
	g := loss.Graph()
	store := scope.Store()
	params := []*model.Variable{store.GetVariable(tunePathW), store.GetVariable(tunePathB)}
	vels := []*model.Variable{store.GetVariable(tunePathVW), store.GetVariable(tunePathVB)}
	grads := gpt2.ClipByGlobalNorm(Gradient(loss, params[0].NodeValue(g), params[1].NodeValue(g)), t.opts.ClipNorm)
	mu := t.opts.Momentum
	for i, p := range params {
		theta := p.NodeValue(g)
		gr := Add(grads[i], MulScalar(theta, t.opts.WeightDecay))
		v := Add(MulScalar(vels[i].NodeValue(g), mu), gr)
		vels[i].SetNodeValue(v)
		p.SetNodeValue(Sub(theta, Mul(lr, Add(gr, MulScalar(v, mu)))))
	}
}

// step trains on rows (each SeqLen tokens) with learning rate lr.
func (t *tuner) step(rows [][]int, lr float64) (float64, []float64, error) {
	x, hf, err := tuneInputs(t.m, rows)
	if err != nil {
		return 0, nil, err
	}
	out, err := t.exec.Exec(x, hf, float32(lr))
	if err != nil {
		return 0, nil, fmt.Errorf("tune: %w", err)
	}
	defer func() {
		for _, o := range out {
			o.FinalizeAll()
		}
	}()
	loss := float64(tensors.ToScalar[float32](out[0]))
	per, _ := tensors.CopyFlatData[float32](out[1])
	layers := make([]float64, len(per))
	for i, v := range per {
		layers[i] = float64(v)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, layers, errors.New("tune: the loss is not finite: lower the learning rate (--lr)")
	}
	return loss, layers, nil
}

// tuneInputs runs the frozen model on rows and packs the translated states
// [n, N, d] and the final hidden states [N, d].
func tuneInputs(m *gpt2.Model, rows [][]int) (x, hf *tensors.Tensor, err error) {
	runs, err := m.RunBatch(rows, lm.RunOptions{Logits: lm.LogitsNone, HiddenStates: true})
	if err != nil {
		return nil, nil, fmt.Errorf("tune: %w", err)
	}
	n, d := m.Config.NLayer, m.Config.NEmbd
	var tokens int
	for _, r := range runs {
		tokens += len(r.IDs)
	}
	xs := make([]float32, 0, n*tokens*d)
	for s := 0; s < n; s++ {
		for _, r := range runs {
			xs = append(xs, r.HiddenStates[s].Data...)
		}
	}
	fs := make([]float32, 0, tokens*d)
	for _, r := range runs {
		fs = append(fs, r.HiddenStates[n].Data...)
	}
	return tensors.FromFlatDataAndDimensions(xs, n, tokens, d), tensors.FromFlatDataAndDimensions(fs, tokens, d), nil
}

// read copies the trained translators and velocities back into tl.
func (t *tuner) read(tl *TunedLens) error {
	n, d := t.m.Config.NLayer, t.m.Config.NEmbd
	get := func(path string) ([]float32, error) {
		v, err := t.store.GetVariable(path).Value()
		if err != nil {
			return nil, err
		}
		return tensors.CopyFlatData[float32](v)
	}
	w, err := get(tunePathW)
	if err != nil {
		return err
	}
	b, err := get(tunePathB)
	if err != nil {
		return err
	}
	if tl.velW, err = get(tunePathVW); err != nil {
		return err
	}
	if tl.velB, err = get(tunePathVB); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		tl.W[i] = append(tl.W[i][:0], w[i*d*d:(i+1)*d*d]...)
		tl.B[i] = append(tl.B[i][:0], b[i*d:(i+1)*d]...)
	}
	return nil
}

// TrainTunedLens trains translators for m on the token stream ids (the model stays
// frozen): Steps steps of Rows windows of SeqLen tokens each, drawn from ids by a
// generator seeded with (Seed, step). With opts.Checkpoint it resumes from, and
// saves to, that folder. It returns the translators and every step's losses.
func TrainTunedLens(m *gpt2.Model, ids []int, opts TuneOptions) (*TunedLens, []TuneStep, error) {
	return trainTunedLensUntil(m, ids, opts, 0)
}

// trainTunedLensUntil is TrainTunedLens stopping (with a checkpoint) after step
// stopAt when it is > 0: an interrupted run, for the resume test.
func trainTunedLensUntil(m *gpt2.Model, ids []int, opts TuneOptions, stopAt int) (*TunedLens, []TuneStep, error) {
	cfg := m.Config
	opts = opts.withDefaults(cfg)
	if err := opts.check(cfg); err != nil {
		return nil, nil, err
	}
	if len(ids) < opts.SeqLen+1 {
		return nil, nil, fmt.Errorf("tune: the text has %d tokens, fewer than one window of %d: give more text", len(ids), opts.SeqLen)
	}
	for i, id := range ids {
		if id < 0 || id >= cfg.VocabSize {
			return nil, nil, fmt.Errorf("tune: token %d: id %d is outside the vocabulary", i, id)
		}
	}
	// A checkpoint, when there is one, else identity translators (either way the
	// model's weights are hashed once, to stamp the translators).
	var tl *TunedLens
	start := 0
	if opts.Checkpoint != "" {
		prev, err := LoadTunedLens(m, opts.Checkpoint)
		switch {
		case err == nil:
			if prev.Trained["settings"] != opts.fingerprint() {
				return nil, nil, fmt.Errorf("tune: %s holds translators trained with other settings (%s); use another folder or the same settings to resume", opts.Checkpoint, prev.Trained["settings"])
			}
			tl = prev
			start, _ = strconv.Atoi(prev.Trained["step"])
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, err
		}
	}
	if tl == nil {
		var err error
		if tl, err = NewTunedLens(m); err != nil {
			return nil, nil, err
		}
	}
	t, err := newTuner(m, tl, opts)
	if err != nil {
		return nil, nil, err
	}
	var history []TuneStep
	began := time.Now()
	last := opts.Steps
	if stopAt > 0 {
		last = min(last, stopAt)
	}
	for step := start; step < last; step++ {
		rng := rand.New(rand.NewPCG(opts.Seed, uint64(step)+0x74756e65))
		rows := make([][]int, opts.Rows)
		for i := range rows {
			at := rng.IntN(len(ids) - opts.SeqLen + 1)
			rows[i] = ids[at : at+opts.SeqLen]
		}
		t0 := time.Now()
		loss, per, err := t.step(rows, opts.learningRate(step))
		if err != nil {
			return nil, history, err
		}
		st := TuneStep{Step: step + 1, Loss: loss, PerLayer: per, Seconds: time.Since(t0).Seconds()}
		history = append(history, st)
		done := step + 1
		if opts.Progress != nil && (done%10 == 0 || done == opts.Steps) {
			rate := float64(opts.Rows*opts.SeqLen) / st.Seconds
			eta := time.Duration(float64(opts.Steps-done) * time.Since(began).Seconds() / float64(done-start) * float64(time.Second))
			fmt.Fprintf(opts.Progress, "tune: step %d/%d  loss %.4f  %.0f tokens/s  ETA %s  KL per layer:", done, opts.Steps, loss, rate, eta.Round(time.Second))
			for _, v := range per {
				fmt.Fprintf(opts.Progress, " %.3f", v)
			}
			fmt.Fprintln(opts.Progress)
		}
		if opts.Checkpoint != "" && (done%opts.CheckpointEvery == 0 || done == last) {
			if err := t.read(tl); err != nil {
				return nil, history, err
			}
			tl.Trained = map[string]string{"settings": opts.fingerprint(), "step": strconv.Itoa(done), "loss": fmt.Sprintf("%.5f", loss)}
			if err := tl.Save(opts.Checkpoint); err != nil {
				return nil, history, err
			}
		}
	}
	if err := t.read(tl); err != nil {
		return nil, history, err
	}
	tl.Trained = map[string]string{"settings": opts.fingerprint(), "step": strconv.Itoa(opts.Steps), "tokens": strconv.Itoa(opts.Steps * opts.Rows * opts.SeqLen)}
	if len(history) > 0 {
		tl.Trained["loss"] = fmt.Sprintf("%.5f", history[len(history)-1].Loss)
	}
	return tl, history, nil
}

func (o TuneOptions) fingerprint() string {
	return fmt.Sprintf("steps=%d rows=%d seq=%d lr=%g momentum=%g wd=%g clip=%g warmup=%d seed=%d",
		o.Steps, o.Rows, o.SeqLen, o.LR, o.Momentum, o.WeightDecay, o.ClipNorm, o.Warmup, o.Seed)
}

// LayerQuality is how well one state is read, averaged over positions.
type LayerQuality struct {
	State string
	// KL is the mean KL(final ‖ lens) in nats; Perplexity exp(mean cross-entropy of
	// the actual next token), for the logit lens and the tuned lens.
	LogitKL, TunedKL                 float64
	LogitPerplexity, TunedPerplexity float64
}

// CompareLenses reads rows (token sequences) with the logit lens (with ln_f) and
// with tl, and averages each state's KL to the final layer and its perplexity on
// the next tokens: the table of the tuned-lens paper.
func CompareLenses(m *gpt2.Model, tl *TunedLens, rows [][]int) ([]LayerQuality, error) {
	if len(rows) == 0 {
		return nil, errors.New("compare lenses: no text")
	}
	var out []LayerQuality
	for pass, opt := range []Options{{}, {Tuned: tl}} {
		res, err := PromptBatch(m, rows, opt)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]LayerQuality, len(res[0].States))
			for s, name := range res[0].States {
				out[s].State = name
			}
		}
		kl, ce := make([]float64, len(out)), make([]float64, len(out))
		cnt := make([]float64, len(out))
		for _, r := range res {
			for s, row := range r.Cells {
				for _, c := range row {
					if c.NextID < 0 {
						continue
					}
					kl[s] += c.KLToFinal
					ce[s] += c.CrossEntropy
					cnt[s]++
				}
			}
		}
		for s := range out {
			if pass == 0 {
				out[s].LogitKL, out[s].LogitPerplexity = kl[s]/cnt[s], math.Exp(ce[s]/cnt[s])
			} else {
				out[s].TunedKL, out[s].TunedPerplexity = kl[s]/cnt[s], math.Exp(ce[s]/cnt[s])
			}
		}
	}
	return out, nil
}
