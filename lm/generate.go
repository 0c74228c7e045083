package lm

// GenerateOptions follows Hugging Face's greedy generate.
type GenerateOptions struct {
	// MaxLength is the total length (prompt included) at which generation stops.
	// Zero means len(prompt)+MaxNewTokens.
	MaxLength int
	// MaxNewTokens is used when MaxLength is zero.
	MaxNewTokens int
	// MinLength: while the sequence is shorter, the EOS token cannot be chosen.
	MinLength int
	// NoHiddenStates skips returning per-step hidden states.
	NoHiddenStates bool
}

// Step is one generation step: the positions fed to the model, their hidden states,
// the last position's logits, and the token chosen from them.
type Step struct {
	// Positions are the sequence positions this step computed: all prompt
	// positions at step 0, one position afterwards.
	Positions []int
	// HiddenStates are Hugging Face's hidden_states for this step: n_layer+1 arrays
	// [len(Positions), n_embd] (embeddings, blocks 0..n-2, ln_f(block n-1)).
	HiddenStates []*Array
	// Logits [vocab] at the last position, before the min_length EOS mask.
	Logits []float32
	// Token is the id chosen greedily at this step.
	Token int
}

// Generation is the result of greedy generation.
type Generation struct {
	// Sequence is the prompt followed by the generated tokens (HF's sequences[0]).
	Sequence  []int
	PromptLen int
	// Steps has one entry per generated token (HF's len(hidden_states)).
	Steps []Step
}

// Generated returns the new tokens.
func (g *Generation) Generated() []int { return g.Sequence[g.PromptLen:] }
