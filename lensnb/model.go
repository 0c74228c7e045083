package lensnb

import (
	"errors"
	"fmt"

	"github.com/logitlens-go/logitlens/lm"
)

// Engine is where a model's weights are and its lens is computed: package engine
// in this process (engine.Wrap, engine.LoadModel), or a model server behind a
// socket (OpenModel). Every function of this package reaches the weights through
// it alone, so a caller's results are the same either way; errors keep their
// types (*ModelError) across the socket.
type Engine interface {
	// The model's runs: a batched forward pass with hooks and patches, greedy
	// generation with a KV cache, rows of a weight, the next-token loss, and the
	// hash of the weights (which a tuned lens is stamped with).
	RunBatch(batch [][]int, opts lm.RunOptions) ([]*lm.RunResult, error)
	Generate(ids []int, opts lm.GenerateOptions) (*lm.Generation, error)
	WeightRows(name string, rows ...int) (*lm.Array, error)
	Loss(rows [][]int) (float64, error)
	WeightsHash() (string, error)

	// The lens, computed where the weights are.
	PromptBatch(prompts [][]int, opts Options) ([]*Result, error)
	FromGeneration(gen *lm.Generation, opts Options) (*Result, error)
	GenerateLens(ids []int, newTokens int, opts Options) (*Result, error)
	DecodeLogits(x *lm.Array, finalNorm bool) (*lm.Array, error)
	Compare(a, b LensSide) (*Comparison, error)
	Attribute(ids []int, targets []int) (*Attribution, error)
	// ModelFiles returns the model folder's config.json and tokenizer.json, for a
	// client on a machine without the folder.
	ModelFiles() (config, tokenizer []byte, err error)

	// TrainTunedLens trains translators; progress, when not nil, receives every step.
	TrainTunedLens(ids []int, opts TuneOptions, progress func(TuneProgress)) (*TunedLens, []TuneStep, error)
}

// Model is a model as the lens sees it: its config and tokenizer in this program,
// its weights behind an Engine.
type Model struct {
	Config    *lm.Config
	Tokenizer *lm.Tokenizer
	// Ref is the model's label in every table, chart and JSON (a random model's
	// says so); Dir its folder (config.json, tokenizer.json, the weights);
	// BackendName the engine's GoMLX backend, and where it runs.
	Ref, Dir, BackendName string
	// Random and Demo say whether it is one of RandomModels or DemoModel.
	Random, Demo bool

	Engine Engine
}

// errNoModel is a nil *Model handed to a function of the lens.
var errNoModel = errors.New("no model: load one first (lensnb.OpenModel)")

func (m *Model) engine() (Engine, error) {
	if m == nil || m.Engine == nil {
		return nil, errNoModel
	}
	return m.Engine, nil
}

// Run runs one prompt of token ids.
func (m *Model) Run(ids []int, opts lm.RunOptions) (*lm.RunResult, error) {
	out, err := m.RunBatch([][]int{ids}, opts)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// RunBatch runs several prompts in one batch (see gpt2.Model.RunBatch).
func (m *Model) RunBatch(batch [][]int, opts lm.RunOptions) ([]*lm.RunResult, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.RunBatch(batch, opts)
}

// Forward returns the logits [seq, vocab] of ids and Hugging Face's hidden_states.
func (m *Model) Forward(ids []int) (logits *lm.Array, hidden []*lm.Array, err error) {
	r, err := m.Run(ids, lm.RunOptions{HiddenStates: true})
	if err != nil {
		return nil, nil, err
	}
	return r.Logits, r.HiddenStates, nil
}

// Generate continues ids greedily with a KV cache (Hugging Face's greedy generate).
func (m *Model) Generate(ids []int, opts lm.GenerateOptions) (*lm.Generation, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.Generate(ids, opts)
}

// WeightRows returns rows of the weight named as in Hugging Face's checkpoint
// ("wte.weight", "h.0.attn.c_attn.weight", …); no rows: the whole weight.
func (m *Model) WeightRows(name string, rows ...int) (*lm.Array, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.WeightRows(name, rows...)
}

// Weight returns a whole weight.
func (m *Model) Weight(name string) (*lm.Array, error) { return m.WeightRows(name) }

// LMHead returns lm_head's matrix [vocab, n_embd] (GPT-2 ties it to wte).
func (m *Model) LMHead() (*lm.Array, error) { return m.Weight("wte.weight") }

// Loss is the mean next-token cross-entropy over rows of token ids, in nats.
func (m *Model) Loss(rows [][]int) (float64, error) {
	e, err := m.engine()
	if err != nil {
		return 0, err
	}
	return e.Loss(rows)
}

// WeightsHash is the SHA-256 of the model's weights, as float32.
func (m *Model) WeightsHash() (string, error) {
	e, err := m.engine()
	if err != nil {
		return "", err
	}
	return e.WeightsHash()
}

// Modules lists the model's top-level modules (PyTorch's model._modules).
func (m *Model) Modules() []string { return lm.Modules(m.Config) }

// Summary is the model card for an input of seqLen tokens.
func (m *Model) Summary(seqLen int) *lm.Summary { return lm.NewSummary(m.Config, seqLen) }

// String names the model and where it runs.
func (m *Model) String() string {
	if m == nil {
		return "<no model>"
	}
	return fmt.Sprintf("%s on %s", m.Ref, m.BackendName)
}
