package lensnb

// Activation patching, as TransformerLens's get_act_patch_resid_pre /
// _attn_out / _mlp_out: the model reads the clean prompt, but one activation at one
// (block, position) is taken from a run on the corrupted prompt; a metric of the
// last position's logits says how far that moves the prediction towards the
// corrupted run's, normalised so that the clean run scores 0 and the corrupted
// run 1.

import (
	"errors"
	"fmt"
	"math"

	"github.com/logitlens-go/logitlens/internal/lensmath"
	"github.com/logitlens-go/logitlens/lm"
)

// PatchMetric scores the logits at the last position of a run; the sweep reports
// (score(patched) − score(clean)) / (score(corrupted) − score(clean)).
type PatchMetric interface {
	// Name says what the metric is, for tables and charts.
	Name() string
	// Score scores logits, corrupt being the corrupted run's logits at the same
	// position.
	Score(logits, corrupt []float32) float64
}

// KLToCorrupt scores KL(corrupted ‖ run) of the next-token distributions: the
// normalised value is 1 − KL(corrupted ‖ patched) / KL(corrupted ‖ clean), the
// share of the effect that the patched activation carries.
type KLToCorrupt struct{}

// Name implements PatchMetric.
func (KLToCorrupt) Name() string {
	return "KL share: 1 − KL(corrupted ‖ patched) / KL(corrupted ‖ clean)"
}

// Score implements PatchMetric.
func (KLToCorrupt) Score(logits, corrupt []float32) float64 {
	return lensmath.KL(corrupt, logits)
}

// LogitDiff scores logit[Token] − logit[Versus] (e.g. " cats" vs " dogs"): the
// normalised value is how much of the clean-to-corrupted change of that
// difference the patch reproduces.
type LogitDiff struct{ Token, Versus int }

// Name implements PatchMetric.
func (d LogitDiff) Name() string {
	return fmt.Sprintf("logit difference #%d − #%d, normalised", d.Token, d.Versus)
}

// Score implements PatchMetric.
func (d LogitDiff) Score(logits, _ []float32) float64 {
	return float64(logits[d.Token]) - float64(logits[d.Versus])
}

// PatchOptions configures PatchSweep.
type PatchOptions struct {
	// Hook is the per-block activation patched: "resid_pre" (default),
	// "resid_mid", "resid_post", "attn_out" or "mlp_out" (blocks.{i}.hook_…).
	Hook string
	// Metric scores each patched run; nil is KLToCorrupt.
	Metric PatchMetric
}

// Patching is the result of a sweep: Values[block][position] is the normalised
// metric when Hook at that block and position comes from the corrupted run.
type Patching struct {
	Clean, Corrupt []int    // token ids, of equal length
	Tokens         []string // the clean prompt's tokens
	Hook           string   // e.g. "resid_pre"
	Metric         string   // PatchMetric.Name
	// CleanScore and CorruptScore are the metric's raw scores of the two runs.
	CleanScore, CorruptScore float64
	Values                   [][]float64
}

var patchHooks = map[string]string{
	"resid_pre": "hook_resid_pre", "resid_mid": "hook_resid_mid", "resid_post": "hook_resid_post",
	"attn_out": "hook_attn_out", "mlp_out": "hook_mlp_out",
}

// PatchSweep patches opts.Hook of every block at every position of the clean
// prompt with its value from the corrupted one (the two must have as many
// tokens) and scores the last position. Each block is one batched run over all
// positions (batch row p patches position p).
func PatchSweep(m *Model, clean, corrupt string, opts PatchOptions) (*Patching, error) {
	if m == nil {
		return nil, errors.New("patching: no model")
	}
	cleanIDs, err := m.Tokenizer.Encode(clean)
	if err != nil {
		return nil, fmt.Errorf("patching: %w", err)
	}
	corruptIDs, err := m.Tokenizer.Encode(corrupt)
	if err != nil {
		return nil, fmt.Errorf("patching: %w", err)
	}
	if len(cleanIDs) != len(corruptIDs) {
		return nil, fmt.Errorf("patching: %q has %d tokens and %q has %d: choose prompts of the same length in tokens", clean, len(cleanIDs), corrupt, len(corruptIDs))
	}
	return PatchSweepIDs(m, cleanIDs, corruptIDs, opts)
}

// PatchSweepIDs is PatchSweep for token ids.
func PatchSweepIDs(m *Model, clean, corrupt []int, opts PatchOptions) (*Patching, error) {
	if opts.Hook == "" {
		opts.Hook = "resid_pre"
	}
	suffix, ok := patchHooks[opts.Hook]
	if !ok {
		return nil, fmt.Errorf("patching: unknown hook %q: use resid_pre, resid_mid, resid_post, attn_out or mlp_out", opts.Hook)
	}
	if opts.Metric == nil {
		opts.Metric = KLToCorrupt{}
	}
	if d, ok := opts.Metric.(LogitDiff); ok {
		for _, id := range []int{d.Token, d.Versus} {
			if id < 0 || id >= m.Config.VocabSize {
				return nil, fmt.Errorf("patching: token id %d is outside the vocabulary [0,%d)", id, m.Config.VocabSize)
			}
		}
	}
	if len(clean) != len(corrupt) || len(clean) == 0 {
		return nil, fmt.Errorf("patching: the prompts have %d and %d tokens: give two non-empty prompts of the same length", len(clean), len(corrupt))
	}
	L, T := m.Config.NLayer, len(clean)
	hooks := make([]string, L)
	for l := range hooks {
		hooks[l] = lm.BlockHook(l, suffix)
	}
	lastLogits := func(r *lm.RunResult) []float32 { return r.Logits.Data }
	runs, err := m.RunBatch([][]int{clean, corrupt}, lm.RunOptions{Logits: lm.LogitsLast, Keep: hooks})
	if err != nil {
		return nil, fmt.Errorf("patching: %w", err)
	}
	cleanRun, corruptRun := runs[0], runs[1]
	corruptLast := lastLogits(corruptRun)
	p := &Patching{Clean: append([]int(nil), clean...), Corrupt: append([]int(nil), corrupt...), Hook: opts.Hook, Metric: opts.Metric.Name(),
		CleanScore: opts.Metric.Score(lastLogits(cleanRun), corruptLast), CorruptScore: opts.Metric.Score(corruptLast, corruptLast)}
	for _, id := range clean {
		p.Tokens = append(p.Tokens, m.Tokenizer.TokenText(id))
	}
	span := p.CorruptScore - p.CleanScore
	if math.Abs(span) < 1e-9 {
		return nil, fmt.Errorf("patching: by %s the clean and corrupted runs do not differ (both score %g): nothing to trace", p.Metric, p.CleanScore)
	}
	d := m.Config.NEmbd
	batch := make([][]int, T)
	for b := range batch {
		batch[b] = clean
	}
	for _, hook := range hooks {
		// Row b is the clean activation with position b taken from the corrupted run.
		cleanAct, corruptAct := cleanRun.Hooks[hook], corruptRun.Hooks[hook]
		value := lm.NewArray(T, T, d)
		for b := 0; b < T; b++ {
			copy(value.Data[b*T*d:(b+1)*T*d], cleanAct.Data)
			copy(value.Data[(b*T+b)*d:(b*T+b+1)*d], corruptAct.Row(b))
		}
		out, err := m.RunBatch(batch, lm.RunOptions{Logits: lm.LogitsLast, Patches: []lm.Patch{{Hook: hook, Op: lm.PatchReplace, Value: value}}})
		if err != nil {
			return nil, fmt.Errorf("patching %s: %w", hook, err)
		}
		row := make([]float64, T)
		for b := range row {
			row[b] = (opts.Metric.Score(lastLogits(out[b]), corruptLast) - p.CleanScore) / span
		}
		p.Values = append(p.Values, row)
	}
	return p, nil
}
