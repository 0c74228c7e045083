package lm

// LogitsMode says which logits a run returns.
type LogitsMode int

const (
	// LogitsAll returns logits for every position: [seq, vocab] per prompt.
	LogitsAll LogitsMode = iota
	// LogitsLast returns only the last position's logits: [vocab] per prompt.
	LogitsLast
	// LogitsNone skips the unembedding entirely (fastest when only activations are needed).
	LogitsNone
)

// RunOptions selects what a run returns and how it is patched.
type RunOptions struct {
	Logits LogitsMode
	// Keep lists hook names whose activations are returned (see HookNames).
	Keep []string
	// Patches change activations; downstream activations and logits are recomputed.
	Patches []Patch
	// HiddenStates also returns Hugging Face's hidden_states (see RunResult).
	HiddenStates bool
}

// RunResult holds what one prompt's run returned.
type RunResult struct {
	IDs []int
	// Logits is [seq, vocab] (LogitsAll), [vocab] (LogitsLast) or nil (LogitsNone).
	Logits *Array
	// Hooks maps each kept hook name to its activation [seq, n_embd].
	Hooks map[string]*Array
	// HiddenStates (with RunOptions.HiddenStates) are Hugging Face's hidden_states:
	// n_layer+1 arrays [seq, n_embd]: the embeddings, blocks 0..n-2, ln_f(block n-1).
	HiddenStates []*Array
}

// HiddenStateHooks are the hooks that hold Hugging Face's hidden_states except the
// last: blocks.0.hook_resid_pre (the embeddings) and blocks.{i}.hook_resid_post for
// i < n-1. The last hidden state is the model's final output ln_f(block n-1).
func HiddenStateHooks(cfg *Config) []string {
	names := []string{BlockHook(0, "hook_resid_pre")}
	for i := 0; i < cfg.NLayer-1; i++ {
		names = append(names, ResidPost(i))
	}
	return names
}
