package lensnb

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

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
	// Progress receives a line every 10 steps and at the last: tokens/s and the
	// loss per layer (TuneProgress.String); OnProgress receives the same as a value.
	Progress   io.Writer
	OnProgress func(TuneProgress)
	// Checkpoint, when set, is a folder where the translators and the optimiser's
	// state are saved every CheckpointEvery steps [25] (atomically) and resumed from.
	Checkpoint      string
	CheckpointEvery int
}

// WithDefaults fills the zero fields with their defaults for a model of cfg.
func (o TuneOptions) WithDefaults(cfg *lm.Config) TuneOptions {
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

// Check says what is wrong with options (after WithDefaults) for a model of cfg.
func (o TuneOptions) Check(cfg *lm.Config) error {
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

// LearningRate is the schedule: linear warm-up, then linear decay to 0 (the
// tuned-lens paper's, transformers' get_linear_schedule_with_warmup).
func (o TuneOptions) LearningRate(step int) float64 {
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

// TuneProgress is what a training run reports every 10 steps and at its last.
type TuneProgress struct {
	Step, Steps int
	// Loss is the step's Σ of KL over translators; PerLayer its terms.
	Loss            float64
	PerLayer        []float64
	TokensPerSecond float64
	ETA             time.Duration
}

// String is the progress line: "tune: step 10/150  loss 3.1416  512 tokens/s  ETA 1m5s  KL per layer: …".
func (p TuneProgress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tune: step %d/%d  loss %.4f  %.0f tokens/s  ETA %s  KL per layer:", p.Step, p.Steps, p.Loss, p.TokensPerSecond, p.ETA.Round(time.Second))
	for _, v := range p.PerLayer {
		fmt.Fprintf(&b, " %.3f", v)
	}
	return b.String()
}

// TrainTunedLens trains translators for m on the token stream ids (the model stays
// frozen), where m's weights are (in a model server, on the server): Steps steps of
// Rows windows of SeqLen tokens each, drawn from ids by a generator seeded with
// (Seed, step). With opts.Checkpoint (a folder where the weights are) it resumes
// from, and saves to, that folder. It returns the translators and every step's
// losses.
func TrainTunedLens(m *Model, ids []int, opts TuneOptions) (*TunedLens, []TuneStep, error) {
	e, err := m.engine()
	if err != nil {
		return nil, nil, err
	}
	out, on := opts.Progress, opts.OnProgress
	opts.Progress, opts.OnProgress = nil, nil
	var progress func(TuneProgress)
	if out != nil || on != nil {
		progress = func(p TuneProgress) {
			if out != nil {
				fmt.Fprintln(out, p)
			}
			if on != nil {
				on(p)
			}
		}
	}
	return e.TrainTunedLens(ids, opts, progress)
}

// Fingerprint names the settings that make a run: a checkpoint of other settings
// is not resumed.
func (o TuneOptions) Fingerprint() string {
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
func CompareLenses(m *Model, tl *TunedLens, rows [][]int) ([]LayerQuality, error) {
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
