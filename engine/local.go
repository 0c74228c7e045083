// Package engine is the lens engine: it runs a model (package gpt2, GoMLX) and
// computes the lens where the weights are — the prompt and generation lens with
// both decoders, comparisons, direct logit attribution, decoding of single states,
// and the tuned lens's training. Its Local implements lensnb.Engine in this
// process; a model server (cmd/logitlens-server) serves the same Local over a
// socket, so a notebook cell, which links only lensnb, gets the same answers
// without linking GoMLX.
package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
	"github.com/logitlens-go/logitlens/resident"
)

// Local is a model in this process as a lensnb.Engine.
type Local struct {
	M *gpt2.Model
}

var _ lensnb.Engine = (*Local)(nil)

func (l *Local) RunBatch(batch [][]int, opts lm.RunOptions) ([]*lm.RunResult, error) {
	return l.M.RunBatch(batch, opts)
}

func (l *Local) Generate(ids []int, opts lm.GenerateOptions) (*lm.Generation, error) {
	return l.M.Generate(ids, opts)
}

func (l *Local) WeightRows(name string, rows ...int) (*lm.Array, error) {
	return l.M.WeightRows(name, rows...)
}

func (l *Local) Loss(rows [][]int) (float64, error) { return l.M.Loss(rows) }

func (l *Local) WeightsHash() (string, error) { return l.M.WeightsHash() }

func (l *Local) PromptBatch(prompts [][]int, opts lensnb.Options) ([]*lensnb.Result, error) {
	return promptBatch(l.M, prompts, opts)
}

func (l *Local) FromGeneration(gen *lm.Generation, opts lensnb.Options) (*lensnb.Result, error) {
	return fromGeneration(l.M, gen, opts)
}

func (l *Local) GenerateLens(ids []int, newTokens int, opts lensnb.Options) (*lensnb.Result, error) {
	return generateLens(l.M, ids, newTokens, opts)
}

func (l *Local) DecodeLogits(x *lm.Array, finalNorm bool) (*lm.Array, error) {
	return decodeLogits(l.M, x, finalNorm)
}

func (l *Local) Compare(a, b lensnb.LensSide) (*lensnb.Comparison, error) { return compare(l.M, a, b) }

func (l *Local) Attribute(ids []int, targets []int) (*lensnb.Attribution, error) {
	return attribute(l.M, ids, targets)
}

func (l *Local) ModelFiles() (config, tokenizer []byte, err error) {
	if config, err = os.ReadFile(filepath.Join(l.M.Dir, "config.json")); err != nil {
		return nil, nil, err
	}
	return config, l.M.Tokenizer.Source(), nil
}

func (l *Local) TrainTunedLens(ids []int, opts lensnb.TuneOptions, progress func(lensnb.TuneProgress)) (*lensnb.TunedLens, []lensnb.TuneStep, error) {
	return trainTunedLens(l.M, ids, opts, progress)
}

// A program that links the engine can load models in process: lensnb.OpenModel
// does so under LOGITLENS_RESIDENT=0.
func init() {
	lensnb.RegisterLocalLoader(LoadModel)
	noteIfCell(os.Stderr)
}

// EnvQuiet, set, silences the note a notebook cell that links the engine prints.
const EnvQuiet = "LOGITLENS_ENGINE_QUIET"

// noteIfCell tells a notebook cell (GoNB sets GONB_DIR) that links the engine by
// mistake what that costs and what it needs instead.
func noteIfCell(w io.Writer) {
	if os.Getenv("GONB_DIR") == "" || !resident.Enabled() || os.Getenv(EnvQuiet) != "" {
		return
	}
	fmt.Fprintln(w, "note: this cell links the lens engine (GoMLX, ~40 MB), so every run of it spends seconds building. "+
		"Cells need only lensnb, lm, display and exercises: the model server holds the engine. "+
		"Import github.com/logitlens-go/logitlens/engine only to load a model in the cell itself (LOGITLENS_RESIDENT=0); "+
		EnvQuiet+"=1 silences this note.")
}
