package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/logitlens-go/logitlens/lm"
)

// lensFlags are the flags of the lens itself (logitlens without a subcommand).
type lensFlags struct {
	modelRef, prompt, target, layers string
	attribute, versus                string
	lens, translators                string
	jsonPath, csvPath, htmlPath      string
	generate, topk, stride, width    int
	finalNorm, residMid              bool
	offline, quiet                   bool
}

// newLensFlags defines the lens's flags on fs.
func newLensFlags(fs *flag.FlagSet) *lensFlags {
	f := &lensFlags{}
	fs.StringVar(&f.modelRef, "model", "gpt2", `hub id (gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2, org/name[@revision]), a local folder, "demo" (a small GPT-2 trained on public-domain text, shipped with the repository: no download), or random weights: "tiny", "random", "small"`)
	fs.StringVar(&f.prompt, "prompt", "", "the text to run the lens on")
	fs.IntVar(&f.generate, "generate", 0, "generate N tokens greedily and lens every generated token (the course's Part 1) instead of the prompt positions")
	fs.BoolVar(&f.finalNorm, "final-norm", true, "apply ln_f to intermediate states before lm_head (false: project raw states, as the course's Part 1)")
	fs.IntVar(&f.topk, "topk", 5, "top-k tokens kept per cell")
	fs.StringVar(&f.target, "target", "", "also report the probability and rank of this token (its text, e.g. \" cat\", or #id)")
	fs.BoolVar(&f.residMid, "resid-mid", false, "also lens the residual stream after attention (prompt lens only)")
	fs.StringVar(&f.layers, "layers", "", "comma-separated blocks to show (default all; the last is always shown)")
	fs.IntVar(&f.stride, "stride", 0, "show every Nth block")
	fs.StringVar(&f.jsonPath, "json", "", "write the lens as JSON to this file")
	fs.StringVar(&f.csvPath, "csv", "", "write the lens as CSV to this file")
	fs.StringVar(&f.htmlPath, "html", "", "write an interactive heatmap (standalone HTML) to this file")
	fs.StringVar(&f.attribute, "attribute", "", "also attribute this token's logit (its text, e.g. \" Paris\") to the embeddings, every block's attention and MLP, and every head (direct logit attribution; prompt only)")
	fs.StringVar(&f.versus, "versus", "", "with --attribute: attribute the logit difference against this token (e.g. \" Rome\")")
	fs.StringVar(&f.lens, "lens", "logit", "logit (the logit lens) or tuned (the tuned lens: each state through its trained translator; needs --translators)")
	fs.StringVar(&f.translators, "translators", "", "with --lens tuned: the folder `logitlens tune` wrote")
	fs.BoolVar(&f.offline, "offline", false, "never contact the hub; use the cache only")
	fs.BoolVar(&f.quiet, "quiet", false, "do not print the table")
	fs.IntVar(&f.width, "width", 0, "fit the printed tables to this many columns (default: $COLUMNS, else the terminal's width, else 120)")
	return f
}

// maxGenerate bounds --generate before a model's config is known: no model that
// loads has a longer context (Llama 3's and Qwen's reach 131072 tokens; GPT-2's is
// 1024). The model's own context is checked as soon as its config is read.
const maxGenerate = 1 << 17

// check says what is wrong with the flags before a model loads, and returns the
// blocks of --layers. The model reference is checked too, and so are the flags
// that depend on the model when its config is on this machine.
func (f *lensFlags) check() ([]int, error) {
	for _, c := range []func() error{f.checkCounts, f.checkTexts, f.checkOutputs, f.checkCombinations, f.checkTarget, f.checkTranslators} {
		if err := c(); err != nil {
			return nil, err
		}
	}
	layers, err := parseLayers(f.layers)
	if err != nil {
		return nil, err
	}
	cfg, err := checkModel(f.modelRef)
	if err != nil {
		return nil, err
	}
	return layers, f.checkAgainst(cfg, layers)
}

// checkCounts checks the prompt and the numeric flags.
func (f *lensFlags) checkCounts() error {
	switch {
	case f.prompt == "":
		return usageError{errors.New(`--prompt is required, e.g. --prompt "Are cats good?"`)}
	case f.generate < 0:
		return usageError{fmt.Errorf("--generate %d must be positive (the number of tokens to generate)", f.generate)}
	case f.generate > maxGenerate:
		return usageError{fmt.Errorf("--generate %d is more than any model's context holds: give at most the model's context (1024 tokens for GPT-2) less the prompt", f.generate)}
	case f.topk < 1 || f.topk > 64:
		return usageError{fmt.Errorf("--topk %d: give between 1 and 64 tokens per cell", f.topk)}
	case f.stride < 0:
		return usageError{fmt.Errorf("--stride %d must be positive (show every Nth block)", f.stride)}
	case f.width < 0:
		return usageError{fmt.Errorf("--width %d must be positive (columns of the printed table)", f.width)}
	}
	return nil
}

// checkTexts checks that the texts given to the tokenizer are UTF-8.
func (f *lensFlags) checkTexts() error {
	for _, t := range []struct{ flag, text string }{{"prompt", f.prompt}, {"target", f.target}, {"attribute", f.attribute}, {"versus", f.versus}} {
		if err := checkText(t.flag, t.text); err != nil {
			return err
		}
	}
	return nil
}

// checkOutputs checks the paths of --json, --csv and --html.
func (f *lensFlags) checkOutputs() error {
	for _, o := range []struct{ flag, path, example string }{{"json", f.jsonPath, "lens.json"}, {"csv", f.csvPath, "lens.csv"}, {"html", f.htmlPath, "lens.html"}} {
		if err := checkOutput(o.flag, o.path, o.example); err != nil {
			return err
		}
	}
	return nil
}

// checkCombinations checks the flags that need, or exclude, one another.
func (f *lensFlags) checkCombinations() error {
	switch {
	case f.versus != "" && f.attribute == "":
		return usageError{errors.New(`--versus needs --attribute, e.g. --attribute " Paris" --versus " Rome"`)}
	case f.versus != "" && f.versus == f.attribute:
		return usageError{fmt.Errorf("--attribute and --versus are both %q: their logit difference is 0; give two different tokens", f.versus)}
	case f.lens != "logit" && f.lens != "tuned":
		return usageError{fmt.Errorf("--lens %q: use logit or tuned", f.lens)}
	case f.lens == "tuned" && f.translators == "":
		return usageError{errors.New("--lens tuned needs --translators DIR (train them with: logitlens tune --model M --text FILE --out DIR)")}
	case f.lens == "logit" && f.translators != "":
		return usageError{errors.New("--translators is for --lens tuned: add --lens tuned")}
	case f.lens == "tuned" && !f.finalNorm:
		return usageError{errors.New("--lens tuned reads through ln_f: drop --final-norm=false")}
	case f.attribute != "" && f.generate > 0:
		return usageError{errors.New("--attribute works on the prompt's positions: drop --generate (or run the generated text as a prompt)")}
	case f.residMid && f.generate > 0:
		return usageError{errors.New("--resid-mid is for the prompt lens: drop --generate or --resid-mid")}
	}
	return nil
}

// checkTarget checks the form of --target #id (its range is checked against
// the model).
func (f *lensFlags) checkTarget() error {
	if !strings.HasPrefix(f.target, "#") {
		return nil
	}
	if id, err := strconv.Atoi(f.target[1:]); err != nil || id < 0 {
		return usageError{fmt.Errorf(`--target %s: after "#" give a token id (a number from 0), e.g. --target "#3797", or give the token's text, e.g. --target " cat"`, f.target)}
	}
	return nil
}

// checkTranslators checks that --translators is a folder `logitlens tune` wrote.
func (f *lensFlags) checkTranslators() error {
	if f.translators == "" {
		return nil
	}
	const how = "train translators with: logitlens tune --model M --text FILE --out DIR"
	st, err := os.Stat(f.translators)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usageError{fmt.Errorf("--translators %s does not exist (%s)", f.translators, how)}
	case err != nil:
		return usageError{fmt.Errorf("--translators %s: %w", f.translators, err)}
	case !st.IsDir():
		return usageError{fmt.Errorf("--translators %s is a file: give the folder logitlens tune wrote (it holds translators.safetensors)", f.translators)}
	}
	if _, err := os.Stat(filepath.Join(f.translators, "translators.safetensors")); err != nil {
		return usageError{fmt.Errorf("--translators %s holds no translators.safetensors: give the folder logitlens tune wrote (%s)", f.translators, how)}
	}
	return nil
}

// parseLayers reads --layers: block numbers, comma-separated.
func parseLayers(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var layers []int
	for _, field := range strings.Split(s, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || l < 0 {
			return nil, usageError{fmt.Errorf("--layers %s: %q is not a block number (blocks count from 0: e.g. --layers 0,3,5)", s, field)}
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// checkAgainst checks the flags that depend on the model against its config;
// nil (the config is not on this machine yet) checks nothing: the model's
// limits are checked again once it is loaded.
func (f *lensFlags) checkAgainst(cfg *lm.Config, layers []int) error {
	if cfg == nil {
		return nil
	}
	if f.generate >= cfg.NPositions {
		return usageError{fmt.Errorf("--generate %d: the model's context is %d tokens, the prompt included: give at most --generate %d", f.generate, cfg.NPositions, cfg.NPositions-1)}
	}
	for _, l := range layers {
		if l >= cfg.NLayer {
			return usageError{fmt.Errorf("--layers %s: block %d does not exist: the model has blocks 0..%d", f.layers, l, cfg.NLayer-1)}
		}
	}
	if id, err := strconv.Atoi(strings.TrimPrefix(f.target, "#")); err == nil && strings.HasPrefix(f.target, "#") && id >= cfg.VocabSize {
		return usageError{fmt.Errorf("--target %s: not a token id in [0,%d)", f.target, cfg.VocabSize)}
	}
	return nil
}
