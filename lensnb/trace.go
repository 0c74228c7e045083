package lensnb

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/logitlens-go/logitlens/internal/lensmath"
	"github.com/logitlens-go/logitlens/lm"
)

// Trace is an nnsight-style tracing context: declare which activations to save and
// which to patch, then Run once. Activations are named by TransformerLens hook names
// (lm.HookNames lists them).
//
//	tr := lensnb.NewTrace(m, "Are cats good?")
//	resid := tr.Save("blocks.5.hook_resid_post")
//	tr.Zero("blocks.3.hook_attn_out")            // everything after it is recomputed
//	out, err := tr.Run()
//	x := resid.Value()                           // [seq, n_embd]
type Trace struct {
	m       *Model
	prompts [][]int
	saves   map[string][]*Saved
	patches []lm.Patch
	err     error
	ran     bool
}

// Saved is an activation that a Trace keeps; its value exists after Run.
type Saved struct {
	Hook  string
	value []*lm.Array // one per prompt
}

// Value returns the saved activation [seq, n_embd] of the first prompt.
func (s *Saved) Value() *lm.Array { return s.ValueAt(0) }

// ValueAt returns the saved activation of prompt i; nil before Run.
func (s *Saved) ValueAt(i int) *lm.Array {
	if i < 0 || i >= len(s.value) {
		return nil
	}
	return s.value[i]
}

// NewTrace starts a trace over one or more prompts (batched in one run).
func NewTrace(m *Model, prompts ...string) *Trace {
	tr := &Trace{m: m, saves: map[string][]*Saved{}}
	if len(prompts) == 0 {
		tr.err = errors.New("trace: give at least one prompt")
	}
	for _, p := range prompts {
		ids, err := m.Tokenizer.Encode(p)
		if err != nil && tr.err == nil {
			tr.err = fmt.Errorf("trace: %w", err)
		}
		tr.prompts = append(tr.prompts, ids)
	}
	return tr
}

// NewTraceIDs starts a trace over tokenized prompts.
func NewTraceIDs(m *Model, prompts ...[]int) *Trace {
	tr := &Trace{m: m, saves: map[string][]*Saved{}, prompts: prompts}
	if len(prompts) == 0 {
		tr.err = errors.New("trace: give at least one prompt")
	}
	return tr
}

func (tr *Trace) check(hook string) bool {
	if tr.err != nil {
		return false
	}
	if err := lm.CheckHooks(tr.m.Config, hook); err != nil {
		tr.err = fmt.Errorf("trace: %w", err)
		return false
	}
	return true
}

// Save asks for the activation at hook. Reading never changes the output.
func (tr *Trace) Save(hook string) *Saved {
	s := &Saved{Hook: hook}
	if tr.check(hook) {
		tr.saves[hook] = append(tr.saves[hook], s)
	}
	return s
}

// Zero sets the activation at hook to zero (at the given positions, or everywhere).
func (tr *Trace) Zero(hook string, positions ...int) *Trace {
	return tr.patch(lm.Patch{Hook: hook, Op: lm.PatchZero, Positions: nilIfEmpty(positions)})
}

// Replace sets the activation at hook to value ([n_embd], [seq, n_embd] or
// [batch, seq, n_embd]) at the given positions, or everywhere.
func (tr *Trace) Replace(hook string, value *lm.Array, positions ...int) *Trace {
	return tr.patch(lm.Patch{Hook: hook, Op: lm.PatchReplace, Value: value, Positions: nilIfEmpty(positions)})
}

// Add adds value to the activation at hook (a steering vector, say).
func (tr *Trace) Add(hook string, value *lm.Array, positions ...int) *Trace {
	return tr.patch(lm.Patch{Hook: hook, Op: lm.PatchAdd, Value: value, Positions: nilIfEmpty(positions)})
}

func (tr *Trace) patch(p lm.Patch) *Trace {
	if tr.check(p.Hook) {
		tr.patches = append(tr.patches, p)
	}
	return tr
}

func nilIfEmpty(p []int) []int {
	if len(p) == 0 {
		return nil
	}
	return p
}

// TraceOutput is what a traced run returned, one entry per prompt.
type TraceOutput struct {
	Runs []*lm.RunResult
}

// Logits returns the logits [seq, vocab] of prompt i.
func (o *TraceOutput) Logits(i int) *lm.Array { return o.Runs[i].Logits }

// Run runs the model once with every save and patch; errors from declaring them
// (an unknown hook, say) surface here.
func (tr *Trace) Run() (*TraceOutput, error) {
	if tr.err != nil {
		return nil, tr.err
	}
	if tr.ran {
		return nil, errors.New("trace: already run; start a new trace")
	}
	var keep []string
	for h := range tr.saves {
		keep = append(keep, h)
	}
	sort.Strings(keep)
	runs, err := tr.m.RunBatch(tr.prompts, lm.RunOptions{Keep: keep, Patches: tr.patches})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	tr.ran = true
	for h, saved := range tr.saves {
		for _, s := range saved {
			for _, r := range runs {
				s.value = append(s.value, r.Hooks[h])
			}
		}
	}
	return &TraceOutput{Runs: runs}, nil
}

// DecodeLogits projects hidden states x [seq, n_embd] onto the vocabulary: through
// ln_f first when finalNorm is set (statistics computed from x), then the tied
// lm_head. It returns logits [seq, vocab] — the logit lens of one state.
func DecodeLogits(m *Model, x *lm.Array, finalNorm bool) (*lm.Array, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	if x == nil || len(x.Shape) != 2 || x.Shape[1] != m.Config.NEmbd {
		shape := "nothing"
		if x != nil {
			shape = fmt.Sprint(x.Shape)
		}
		return nil, fmt.Errorf("decode: hidden states must be [seq, %d], got %s", m.Config.NEmbd, shape)
	}
	return e.DecodeLogits(x, finalNorm)
}

// TopTokens returns the k most likely tokens of one row of logits, with softmax
// probabilities (ties: lower id first). It is the lens's own top-k pass (one pass,
// no sort of the vocabulary) and log-sum-exp.
func TopTokens(m *Model, logits []float32, k int) []TokenProb {
	k = max(0, min(k, len(logits)))
	if k == 0 {
		return nil
	}
	top, _ := lensmath.TopAndRanks(logits, k, []int{0, 0, 0})
	lse := lensmath.LogSumExp(logits)
	out := make([]TokenProb, len(top))
	for i, id := range top {
		out[i] = TokenProb{ID: id, Token: m.Tokenizer.TokenText(id), Logit: float64(logits[id]), Prob: math.Exp(float64(logits[id]) - lse)}
	}
	return out
}
