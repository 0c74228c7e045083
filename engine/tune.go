package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// tuner is the compiled training step over its own store: the translators (W
// [n, d, d], B [n, d], trainable), their Nesterov velocities, and frozen copies of
// the model's wte and ln_f.
type tuner struct {
	m     *gpt2.Model
	opts  lensnb.TuneOptions
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

func newTuner(m *gpt2.Model, tl *lensnb.TunedLens, opts lensnb.TuneOptions) (*tuner, error) {
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
	gainName, biasName := gpt2.NormWeights(cfg)
	gain, err := m.Weight(gainName)
	if err != nil {
		return nil, err
	}
	bias := &lm.Array{Shape: []int{d}, Data: make([]float32, d)} // RMSNorm has none
	if biasName != "" {
		if bias, err = m.Weight(biasName); err != nil {
			return nil, err
		}
	}
	vw, vb := tl.VelW, tl.VelB
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
	// The model's final norm of the translated states.
	var normed *Node
	if cfg.RMSNorm {
		normed = Div(y, Sqrt(AddScalar(ReduceAndKeep(Square(y), ReduceMean, -1), cfg.LayerNormEps))) // not Rsqrt: GoMLX has no gradient for it
	} else {
		centred := Sub(y, ReduceAndKeep(y, ReduceMean, -1))
		variance := ReduceAndKeep(Square(centred), ReduceMean, -1)
		normed = Div(centred, Sqrt(AddScalar(variance, cfg.LayerNormEps)))
	}
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
func (t *tuner) read(tl *lensnb.TunedLens) error {
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
	if tl.VelW, err = get(tunePathVW); err != nil {
		return err
	}
	if tl.VelB, err = get(tunePathVB); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		tl.W[i] = append(tl.W[i][:0], w[i*d*d:(i+1)*d*d]...)
		tl.B[i] = append(tl.B[i][:0], b[i*d:(i+1)*d]...)
	}
	return nil
}

// trainTunedLens trains translators for m (lensnb.TrainTunedLens), reporting
// progress every 10 steps and at the last when progress is not nil.
func trainTunedLens(m *gpt2.Model, ids []int, opts lensnb.TuneOptions, progress func(lensnb.TuneProgress)) (*lensnb.TunedLens, []lensnb.TuneStep, error) {
	return trainTunedLensUntil(m, ids, opts, progress, 0)
}

// trainTunedLensUntil is trainTunedLens stopping (with a checkpoint) after step
// stopAt when it is > 0: an interrupted run, for the resume test.
func trainTunedLensUntil(m *gpt2.Model, ids []int, opts lensnb.TuneOptions, progress func(lensnb.TuneProgress), stopAt int) (*lensnb.TunedLens, []lensnb.TuneStep, error) {
	cfg := m.Config
	opts = opts.WithDefaults(cfg)
	if err := opts.Check(cfg); err != nil {
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
	var tl *lensnb.TunedLens
	start := 0
	if opts.Checkpoint != "" {
		prev, err := lensnb.LoadTunedLens(Wrap(m), opts.Checkpoint)
		switch {
		case err == nil:
			if prev.Trained["settings"] != opts.Fingerprint() {
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
		if tl, err = lensnb.NewTunedLens(Wrap(m)); err != nil {
			return nil, nil, err
		}
	}
	t, err := newTuner(m, tl, opts)
	if err != nil {
		return nil, nil, err
	}
	var history []lensnb.TuneStep
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
		loss, per, err := t.step(rows, opts.LearningRate(step))
		if err != nil {
			return nil, history, err
		}
		st := lensnb.TuneStep{Step: step + 1, Loss: loss, PerLayer: per, Seconds: time.Since(t0).Seconds()}
		history = append(history, st)
		done := step + 1
		if progress != nil && (done%10 == 0 || done == opts.Steps) {
			eta := time.Duration(float64(opts.Steps-done) * time.Since(began).Seconds() / float64(done-start) * float64(time.Second))
			progress(lensnb.TuneProgress{Step: done, Steps: opts.Steps, Loss: loss, PerLayer: per, TokensPerSecond: float64(opts.Rows*opts.SeqLen) / st.Seconds, ETA: eta})
		}
		if opts.Checkpoint != "" && (done%opts.CheckpointEvery == 0 || done == last) {
			if err := t.read(tl); err != nil {
				return nil, history, err
			}
			tl.Trained = map[string]string{"settings": opts.Fingerprint(), "step": strconv.Itoa(done), "loss": fmt.Sprintf("%.5f", loss)}
			if err := tl.Save(opts.Checkpoint); err != nil {
				return nil, history, err
			}
		}
	}
	if err := t.read(tl); err != nil {
		return nil, history, err
	}
	tl.Trained = map[string]string{"settings": opts.Fingerprint(), "step": strconv.Itoa(opts.Steps), "tokens": strconv.Itoa(opts.Steps * opts.Rows * opts.SeqLen)}
	if len(history) > 0 {
		tl.Trained["loss"] = fmt.Sprintf("%.5f", history[len(history)-1].Loss)
	}
	return tl, history, nil
}
