package engine

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// compare decodes the same states of two lenses and compares their next-token
// distributions cell by cell: e.g. one prompt with and without ln_f
// (Options.NoFinalNorm), or two prompts (aligned by position) with the same options.
// Both sides must select the same states.
func compare(m *gpt2.Model, a, b lensnb.LensSide) (*lensnb.Comparison, error) {
	cfg := m.Config
	sides := []*lensnb.LensSide{&a, &b}
	var states [2][][][]float32
	var specs [2][]stateSpec
	for i, side := range sides {
		if err := defaults(&side.Opts, cfg); err != nil {
			return nil, err
		}
		specs[i] = stateSpecs(&side.Opts, cfg)
		run, err := m.Run(side.IDs, lm.RunOptions{Logits: lm.LogitsNone, Keep: stateHooks(specs[i]), HiddenStates: true})
		if err != nil {
			return nil, fmt.Errorf("compare: side %c: %w", 'A'+i, err)
		}
		if states[i], err = translate(side.Opts.Tuned, cfg, specs[i], gatherStates(run, specs[i])); err != nil {
			return nil, err
		}
	}
	if len(specs[0]) != len(specs[1]) {
		return nil, fmt.Errorf("compare: the lenses select different states (%d and %d): use the same Layers/Stride/ResidMid/NoEmbeddings", len(specs[0]), len(specs[1]))
	}
	c := &lensnb.Comparison{}
	for s := range specs[0] {
		if specs[0][s].name != specs[1][s].name {
			return nil, fmt.Errorf("compare: state %d is %s in A but %s in B", s, specs[0][s].name, specs[1][s].name)
		}
		c.States = append(c.States, specs[0][s].name)
	}
	nCols := min(len(a.IDs), len(b.IDs))
	for t := 0; t < nCols; t++ {
		next := -1
		if t+1 < len(a.IDs) {
			next = a.IDs[t+1]
		}
		c.Columns = append(c.Columns, lensnb.Column{ID: a.IDs[t], Token: m.Tokenizer.TokenText(a.IDs[t]), Position: t, NextID: next, NextToken: tokenOrEmpty(m, next)})
	}
	nS, d := len(c.States), cfg.NEmbd
	chunk := chunkColumns(nS, nCols, a.Opts.ChunkRows)
	normA, normB := !a.Opts.NoFinalNorm, !b.Opts.NoFinalNorm
	exec, err := m.Exec(fmt.Sprintf("compare:S=%d:P=%d:%t:%t", nS, chunk, normA, normB), func(scope *model.Scope, in []*Node) []*Node {
		return compareGraph(m, scope, in[0], in[1], normA, normB)
	})
	if err != nil {
		return nil, err
	}
	for _, dst := range []*[][]float64{&c.KL, &c.JS, &c.TV} {
		*dst = make([][]float64, nS)
		for s := range *dst {
			(*dst)[s] = make([]float64, nCols)
		}
	}
	for c0 := 0; c0 < nCols; c0 += chunk {
		var inputs []any
		for i := range sides {
			x := make([]float32, nS*chunk*d)
			packChunk(x, states[i], c0, chunk, nCols, d)
			inputs = append(inputs, tensors.FromFlatDataAndDimensions(x, nS, chunk, d))
		}
		outs, err := exec.Call(inputs...)
		if err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
		for k, dst := range [][][]float64{c.KL, c.JS, c.TV} {
			v, err := tensors.CopyFlatData[float32](outs[k])
			if err != nil {
				return nil, err
			}
			for s := 0; s < nS; s++ {
				for p := 0; p < chunk && c0+p < nCols; p++ {
					dst[s][c0+p] = max(0, float64(v[s*chunk+p]))
				}
			}
		}
	}
	return c, nil
}

// compareGraph decodes xa and xb [S, P, n_embd] (ln_f on all but the last state when
// asked) and returns KL(A‖B), JS and TV, each [S, P].
func compareGraph(m *gpt2.Model, scope *model.Scope, xa, xb *Node, normA, normB bool) []*Node {
	logProbs := func(x *Node, norm bool) *Node { return LogSoftmax(unembedStates(m, scope, x, norm), -1) }
	la, lb := logProbs(xa, normA), logProbs(xb, normB)
	pa, pb := Exp(la), Exp(lb)
	kl := ReduceSum(Mul(pa, Sub(la, lb)), -1)
	mix := MulScalar(Add(pa, pb), 0.5)
	lm := Log(mix)
	js := MulScalar(Add(ReduceSum(Mul(pa, Sub(la, lm)), -1), ReduceSum(Mul(pb, Sub(lb, lm)), -1)), 0.5)
	tv := MulScalar(ReduceSum(Abs(Sub(pa, pb)), -1), 0.5)
	return []*Node{kl, js, tv}
}
