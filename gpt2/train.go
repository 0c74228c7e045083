package gpt2

// This file trains GPT-2: a fresh model with GPT-2's initialisation (NewRandom), and
// a Trainer that takes one optimisation step per batch of token sequences with
// GoMLX's autodiff and its Adam optimiser (decoupled weight decay, i.e. AdamW),
// a linear warm-up then cosine decay of the learning rate, and clipping of the
// gradients' global norm. The loss is next-token cross-entropy through the same
// forward pass the lens reads (model.go): what is trained is what is inspected.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"
	"github.com/logitlens-go/logitlens/lm"
)

// NewRandom returns a GPT-2 with cfg's shapes, tok as its tokenizer and GPT-2's
// initialisation drawn from seed: every matrix and embedding N(0, 0.02), the
// residual projections (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2·n_layer)), biases 0,
// layer-norm gains 1. The same seed gives the same weights.
func NewRandom(cfg *Config, tok *Tokenizer, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("new model: a tokenizer is needed (gpt2.LoadTokenizer)")
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("new model: the tokenizer has %d tokens but vocab_size=%d", tok.VocabSize(), cfg.VocabSize)
	}
	backend, name, err := Backend()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6770743274726e))
	residStd := 0.02 / math.Sqrt(2*float64(cfg.NLayer))
	store := model.NewStore()
	for _, spec := range weightTable(cfg) {
		vals := make([]float32, product(spec.shape))
		switch {
		case isGain(spec.name):
			for i := range vals {
				vals[i] = 1
			}
		case len(spec.shape) == 1: // biases
		default:
			std := 0.02
			if isResidualProjection(spec.name) {
				std = residStd
			}
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * std)
			}
		}
		if _, err := store.CreateVariable(storePath(spec.name), tensors.FromFlatDataAndDimensions(vals, spec.shape...)); err != nil {
			return nil, fmt.Errorf("new model: %w", err)
		}
	}
	return &Model{Config: cfg, Tokenizer: tok, Ref: "new", BackendName: name, backend: backend, store: store}, nil
}

func isGain(name string) bool {
	return strings.HasSuffix(name, "ln_1.weight") || strings.HasSuffix(name, "ln_2.weight") || name == "ln_f.weight"
}

func isResidualProjection(name string) bool {
	return strings.HasSuffix(name, "attn.c_proj.weight") || strings.HasSuffix(name, "mlp.c_proj.weight")
}

// TrainOptions sets up a Trainer. Zero fields take the defaults of
// DefaultTrainOptions.
type TrainOptions struct {
	// Batch is the number of sequences per step; SeqLen the tokens each is trained
	// on (≤ n_positions). A batch row holds SeqLen+1 tokens: inputs and their
	// next tokens.
	Batch, SeqLen int
	// Steps is the length of the schedule: the learning rate warms up linearly over
	// Warmup steps to LR, then follows a cosine down to MinLR at step Steps.
	Steps, Warmup int
	LR, MinLR     float64
	// WeightDecay is AdamW's decoupled weight decay (scaled by the learning rate).
	WeightDecay float64
	// ClipNorm scales the gradients down when their global L2 norm exceeds it
	// (negative: no clipping).
	ClipNorm float64
}

// DefaultTrainOptions are nanoGPT-like settings for a small model on a CPU.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Batch: 8, SeqLen: 128, Steps: 1000, Warmup: 50, LR: 1e-3, MinLR: 1e-4, WeightDecay: 0.1, ClipNorm: 1}
}

func (o TrainOptions) withDefaults() TrainOptions {
	d := DefaultTrainOptions()
	if o.Batch == 0 {
		o.Batch = d.Batch
	}
	if o.SeqLen == 0 {
		o.SeqLen = d.SeqLen
	}
	if o.Steps == 0 {
		o.Steps = d.Steps
	}
	if o.LR == 0 {
		o.LR = d.LR
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = d.ClipNorm
	}
	return o
}

// Validate names the first setting that cannot train m.
func (o TrainOptions) validate(cfg *Config) error {
	switch {
	case o.Batch < 1:
		return fmt.Errorf("train: batch must be ≥ 1, got %d", o.Batch)
	case o.SeqLen < 1 || o.SeqLen > cfg.NPositions:
		return fmt.Errorf("train: sequence length %d must be in 1..n_positions=%d", o.SeqLen, cfg.NPositions)
	case o.Steps < 1:
		return fmt.Errorf("train: steps must be ≥ 1, got %d", o.Steps)
	case o.Warmup < 0 || o.Warmup >= o.Steps:
		return fmt.Errorf("train: warm-up %d must be in 0..steps-1 (steps=%d)", o.Warmup, o.Steps)
	case !(o.LR > 0) || o.MinLR < 0 || o.MinLR > o.LR:
		return fmt.Errorf("train: learning rates must satisfy 0 ≤ min (%g) ≤ max (%g), max > 0", o.MinLR, o.LR)
	case o.WeightDecay < 0:
		return fmt.Errorf("train: weight decay must be ≥ 0, got %g", o.WeightDecay)
	}
	return nil
}

// Trainer trains a model's weights in place: after a step, every lens, run and
// generation of the model sees the new weights.
type Trainer struct {
	m    *Model
	opts TrainOptions
	tr   *train.Trainer
}

// NewTrainer prepares training of m (all of its weights) with opts. A model
// restored with (*Trainer).Restore continues its schedule where it stopped.
func NewTrainer(m *Model, opts TrainOptions) (*Trainer, error) {
	if m.Config.Family != lm.FamilyGPT2 {
		return nil, fmt.Errorf("train: only GPT-2 models are trained here (this is a %s model)", lm.FamilyName(m.Config.Family))
	}
	opts = opts.withDefaults()
	if err := opts.validate(m.Config); err != nil {
		return nil, err
	}
	if v := m.store.GetVariable(storePath("wte.weight")); v == nil || v.DType() != dtypes.Float32 {
		return nil, errors.New("train: the weights must be float32 (load without KeepHalf)")
	}
	t := &Trainer{m: m, opts: opts}
	adam, ok := optimizer.Adam().Betas(0.9, 0.95).LearningRate(opts.LR).WeightDecay(opts.WeightDecay).Done().(gradientsOptimizer)
	if !ok {
		return nil, errors.New("train: GoMLX's Adam no longer takes precomputed gradients (UpdateGraphWithGradients): gradient clipping needs it")
	}
	t.tr = train.NewTrainer(m.backend, m.store, t.lossGraph, nil, clippedOptimizer{adam, opts.ClipNorm}, nil, nil)
	return t, nil
}

// lossGraph is the model function of a training step: ids [batch, seq+1] → the
// mean next-token cross-entropy, registered as the trainer's loss. It also sets the
// learning-rate schedule, which GoMLX computes in the graph from its own step
// counter (kept in the store, so it is checkpointed with the weights).
func (t *Trainer) lossGraph(scope *model.Scope, rows *Node) *Node {
	g := rows.Graph()
	o := t.opts
	cosineschedule.New(scope, g, dtypes.Float32).LearningRate(o.LR).MinLearningRate(o.MinLR).
		WarmUpSteps(o.Warmup).PeriodSteps(o.Steps - o.Warmup).Done()
	loss := nextTokenLoss(scope, t.m.Config, rows)
	train.AddMainLoss(loss)
	return loss
}

// nextTokenLoss is the mean cross-entropy of predicting rows[:, 1:] from
// rows[:, :-1] (rows [batch, seq+1] int32).
//
// Written out rather than loss.SparseCategoricalCrossEntropyLogits, which builds a
// one-hot [batch·seq, vocab] tensor (as large as the logits) to pick each label's
// logit: here the label's logit is gathered directly.
func nextTokenLoss(scope *model.Scope, cfg *Config, rows *Node) *Node {
	g := rows.Graph()
	batch, seq := rows.Shape().Dim(0), rows.Shape().Dim(1)-1
	ids := Slice(rows, AxisRange(), AxisRange(0, seq))
	labels := Slice(rows, AxisRange(), AxisRange(1, seq+1))
	positions := Iota(g, shapeInt32(seq), 0)
	hidden := forward(scope, cfg, ids, positions, nil, nil)
	logits := Reshape(unembed(scope, cfg, hidden), batch*seq, cfg.VocabSize) // [n, vocab]
	n := batch * seq
	maxLogit := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, maxLogit)), -1)), Reshape(maxLogit, n)) // [n]
	flat := Reshape(logits, n*cfg.VocabSize)
	at := Add(MulScalar(Iota(g, shapeInt32(n), 0), cfg.VocabSize), Reshape(labels, n)) // label's flat index
	picked := Gather(flat, ExpandAxes(at, -1))                                         // [n]
	return ReduceAllMean(Sub(lse, picked))
}

// clippedOptimizer clips the gradients' global L2 norm to maxNorm before the wrapped
// optimizer applies them. GoMLX's optimizers clip each step's values, not the norm
// of the whole gradient, which is what GPT-2 training uses.
type clippedOptimizer struct {
	inner   gradientsOptimizer
	maxNorm float64
}

// gradientsOptimizer is an optimiser that applies gradients computed elsewhere.
type gradientsOptimizer interface {
	optimizer.Interface
	UpdateGraphWithGradients(scope *model.Scope, grads []*Node, lossDType dtypes.DType)
}

func (c clippedOptimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	if c.maxNorm > 0 {
		grads = ClipByGlobalNorm(grads, c.maxNorm)
	}
	c.inner.UpdateGraphWithGradients(scope, grads, loss.DType())
}

// ClipByGlobalNorm scales grads down together when their global L2 norm exceeds
// maxNorm (PyTorch's clip_grad_norm_): each times min(1, maxNorm/(‖grads‖+1e-6)).
// GoMLX's optimisers clip each value, not the norm of the whole gradient.
func ClipByGlobalNorm(grads []*Node, maxNorm float64) []*Node {
	var sum *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(gr))
		if sum == nil {
			sum = s
		} else {
			sum = Add(sum, s)
		}
	}
	norm := Sqrt(sum)
	scale := Min(OnesLike(norm), MulScalar(Reciprocal(AddScalar(norm, 1e-6)), maxNorm))
	out := make([]*Node, len(grads))
	for i, gr := range grads {
		out[i] = Mul(gr, scale)
	}
	return out
}

func (c clippedOptimizer) Clear(scope *model.Scope) error { return c.inner.Clear(scope) }

func shapeInt32(n int) shapes.Shape { return shapes.Make(dtypes.Int32, n) }

// Step trains on one batch: rows of SeqLen+1 token ids each (Batch rows). It returns
// the batch's mean cross-entropy before the update.
func (t *Trainer) Step(rows [][]int) (float64, error) {
	in, err := t.batchTensor(rows)
	if err != nil {
		return 0, err
	}
	metrics, err := t.tr.TrainStep(train.Batch{Inputs: []*tensors.Tensor{in}})
	if err != nil {
		return 0, fmt.Errorf("train step: %w", err)
	}
	defer func() {
		for _, m := range metrics {
			m.FinalizeAll()
		}
	}()
	loss := float64(tensors.ToScalar[float32](metrics[0]))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("train step %d: the loss is %v: training diverged; lower the learning rate or resume from an earlier checkpoint", t.StepsDone(), loss)
	}
	return loss, nil
}

// batchTensor checks rows and packs them into an int32 [batch, seq+1] tensor.
func (t *Trainer) batchTensor(rows [][]int) (*tensors.Tensor, error) {
	if len(rows) != t.opts.Batch {
		return nil, fmt.Errorf("train: got %d rows, the trainer was set up for batches of %d", len(rows), t.opts.Batch)
	}
	width := t.opts.SeqLen + 1
	if err := checkRows(t.m.Config, rows, width); err != nil {
		return nil, fmt.Errorf("train: %w; each row needs seq_len+1 = %d tokens", err, width)
	}
	return packRows(rows, width), nil
}

// checkRows checks that every row has width tokens, each in the vocabulary.
func checkRows(cfg *Config, rows [][]int, width int) error {
	for i, r := range rows {
		if len(r) != width {
			return fmt.Errorf("row %d has %d tokens, not %d", i, len(r), width)
		}
		for j, id := range r {
			if id < 0 || id >= cfg.VocabSize {
				return fmt.Errorf("row %d, token %d: id %d is outside the vocabulary [0,%d)", i, j, id, cfg.VocabSize)
			}
		}
	}
	return nil
}

// packRows lays checked rows out as an int32 [len(rows), width] tensor.
func packRows(rows [][]int, width int) *tensors.Tensor {
	flat := make([]int32, 0, len(rows)*width)
	for _, r := range rows {
		for _, id := range r {
			flat = append(flat, int32(id))
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, len(rows), width)
}

// StepsDone is the number of optimisation steps taken so far, restored ones
// included.
func (t *Trainer) StepsDone() int { return int(optimizer.GetGlobalStep(t.m.store)) }

// LearningRate is the learning rate of the given step (0-based) under the schedule.
func (o TrainOptions) LearningRate(step int) float64 {
	o = o.withDefaults()
	if step < o.Warmup {
		return o.MinLR + (o.LR-o.MinLR)*float64(step)/float64(o.Warmup)
	}
	frac := float64(step-o.Warmup) / float64(o.Steps-o.Warmup)
	frac -= math.Floor(frac)
	return o.MinLR + (o.LR-o.MinLR)*(1+math.Cos(math.Pi*frac))/2
}

// Loss is the mean next-token cross-entropy of m on rows (each at least two
// tokens, all of one length ≤ n_positions+1), without training: the validation
// loss.
func (m *Model) Loss(rows [][]int) (float64, error) {
	if len(rows) == 0 {
		return 0, errors.New("loss: no rows given")
	}
	width := len(rows[0])
	if width < 2 || width > m.Config.NPositions+1 {
		return 0, fmt.Errorf("loss: rows must hold 2..n_positions+1 = %d tokens, got %d", m.Config.NPositions+1, width)
	}
	if err := checkRows(m.Config, rows, width); err != nil {
		return 0, fmt.Errorf("loss: %w (all rows must have one length)", err)
	}
	key := fmt.Sprintf("loss:%dx%d", len(rows), width)
	e, err := m.exec(key, func(scope *model.Scope, in []*Node) []*Node {
		return []*Node{nextTokenLoss(scope, m.Config, in[0])}
	})
	if err != nil {
		return 0, err
	}
	out, err := e.Exec(packRows(rows, width))
	if err != nil {
		return 0, fmt.Errorf("loss: %w", err)
	}
	defer out[0].FinalizeAll()
	return float64(tensors.ToScalar[float32](out[0])), nil
}
