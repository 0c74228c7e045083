package lensnb

import (
	"fmt"

	"github.com/logitlens-go/logitlens/lm"
)

// Options select the decoder, the states and the metrics of a lens.
type Options struct {
	// NoFinalNorm projects raw hidden states through lm_head, as the course's Part 1
	// does. By default (false) ln_f is applied to every intermediate state first, the
	// nnsight / TransformerLens logit lens; ln_f's statistics are recomputed for each
	// state. Either way the last state decodes to exactly the model's own logits.
	NoFinalNorm bool
	// TopK is the length of each cell's top-k list (default 5).
	TopK int
	// Target, when set, names a token whose probability and rank every cell also
	// reports (Options{Target: lensnb.TokenID(922)}); nil means none. A pointer,
	// so that the zero Options has no target and a target cannot be half-set.
	Target *int
	// Layers restricts the blocks shown (0-based); nil means every block. Every Stride-th
	// block is kept when Stride > 1. The last block is always included: it is what the
	// other states are compared with.
	Layers []int
	Stride int
	// NoEmbeddings drops the embeddings row.
	NoEmbeddings bool
	// ResidMid adds, before each block's row, the residual stream after attention and
	// before the MLP ("blocks.{i}.resid_mid"). Prompt lens only.
	ResidMid bool
	// Tuned, when set, reads every state through its tuned-lens translator before
	// ln_f and lm_head (the tuned lens; see tuned.go): LoadTunedLens or
	// TrainTunedLens makes one. nil is the logit lens.
	Tuned *TunedLens
	// ChunkRows bounds the (state, position) rows unembedded at once: memory stays
	// O(ChunkRows × vocab) whatever the prompt length. 0 sizes chunks by memory: an
	// eighth of the available memory, kept between 64 and 384 MiB of vocabulary-sized
	// rows (400 rows of GPT-2's vocabulary at 384 MiB; see package engine).
	ChunkRows int
}

// TokenID returns a pointer to id, for Options.Target.
func TokenID(id int) *int { return &id }

// Prompt tokenizes prompt and runs the lens over its positions.
func Prompt(m *Model, prompt string, opts Options) (*Result, error) {
	if m == nil {
		return nil, errNoModel
	}
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return PromptIDs(m, ids, opts)
}

// PromptIDs runs the lens over the positions of a tokenized prompt: column t decodes
// what each state at position t predicts for position t+1.
func PromptIDs(m *Model, ids []int, opts Options) (*Result, error) {
	res, err := PromptBatch(m, [][]int{ids}, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// PromptBatch runs the lens over several prompts with one batched forward pass; each
// result equals PromptIDs on that prompt alone.
func PromptBatch(m *Model, prompts [][]int, opts Options) ([]*Result, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.PromptBatch(prompts, opts)
}

// Generate continues prompt greedily for newTokens tokens and runs the lens over
// the generation, the course's Part 1: column j decodes the hidden states of the
// step that produced generated token j (column 0 is the prompt's last position).
func Generate(m *Model, prompt string, newTokens int, opts Options) (*Result, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return e.GenerateLens(ids, newTokens, opts)
}

// FromGeneration runs the lens over an existing greedy generation (one column per
// step, each state's hidden vector at the step's last position).
func FromGeneration(m *Model, gen *lm.Generation, opts Options) (*Result, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.FromGeneration(gen, opts)
}
