package gpt2

import (
	"fmt"
	"io"
	"os"

	"github.com/logitlens-go/logitlens/lm"
)

// LoadOptions tunes Load.
type LoadOptions struct {
	// Progress receives download progress and the backend choice; nil means quiet.
	Progress io.Writer
	// Offline never contacts the hub (also when HF_HUB_OFFLINE=1): only the cache is used.
	Offline bool
	// KeepHalf keeps F16/BF16 checkpoints in half precision in memory (half the
	// memory of F32) and widens each weight to F32 inside the graph where it is
	// used; results differ from the default only by F32 rounding. F32 checkpoints
	// are unaffected. See BENCHMARKS.md for what it costs in speed.
	KeepHalf bool
}

// Load loads GPT-2 from a hub id ("gpt2", "openai-community/gpt2", "gpt2-medium",
// "gpt2-large", "gpt2-xl", "distilgpt2", each with an optional "@revision") or from
// a local folder in Hugging Face layout (config.json, model.safetensors, tokenizer.json).
func Load(ref string) (*Model, error) {
	return LoadWith(ref, LoadOptions{Progress: os.Stderr})
}

// LoadWith is Load with options.
func LoadWith(ref string, opts LoadOptions) (*Model, error) {
	dir, err := ResolveModel(ref, HubOptions{Progress: opts.Progress, Offline: opts.Offline})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	m, err := LoadDirWith(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	m.Ref = ref
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "gpt2: loaded %s (%d layers, %d heads, d=%d) on backend %s\n",
			ref, m.Config.NLayer, m.Config.NHead, m.Config.NEmbd, m.BackendName)
	}
	return m, nil
}

// LoadDir loads a model from a local folder without touching the hub.
func LoadDir(dir string) (*Model, error) {
	return LoadDirWith(dir, LoadOptions{})
}

// LoadDirWith is LoadDir with options (Progress and Offline do not apply).
func LoadDirWith(dir string, opts LoadOptions) (*Model, error) {
	cfg, err := lm.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	tok, err := lm.LoadTokenizer(dir)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("tokenizer has %d tokens but config.json says vocab_size=%d", tok.VocabSize(), cfg.VocabSize)
	}
	backend, name, err := Backend()
	if err != nil {
		return nil, err
	}
	store, err := loadWeights(backend, dir, cfg, weightOptions{keepHalf: opts.KeepHalf})
	if err != nil {
		return nil, err
	}
	limitHeapGrowth()
	return &Model{Config: cfg, Tokenizer: tok, Ref: dir, Dir: dir, BackendName: name, backend: backend, store: store}, nil
}
