package engine

import (
	"errors"
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/lensmath"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

func defaults(o *lensnb.Options, cfg *lm.Config) error {
	if o.TopK == 0 {
		o.TopK = 5
	}
	if o.TopK < 1 || o.TopK > cfg.VocabSize {
		return fmt.Errorf("lens: top-k %d must be between 1 and the vocabulary size %d", o.TopK, cfg.VocabSize)
	}
	if o.TopK > 64 {
		return fmt.Errorf("lens: top-k %d is too large for a table: use at most 64", o.TopK)
	}
	if o.Target != nil && (*o.Target < 0 || *o.Target >= cfg.VocabSize) {
		return fmt.Errorf("lens: target token id %d is outside the vocabulary [0,%d)", *o.Target, cfg.VocabSize)
	}
	for _, l := range o.Layers {
		if l < 0 || l >= cfg.NLayer {
			return fmt.Errorf("lens: layer %d does not exist: the model has blocks 0..%d", l, cfg.NLayer-1)
		}
	}
	if o.Stride < 0 {
		return fmt.Errorf("lens: stride %d must be positive", o.Stride)
	}
	if o.Tuned != nil {
		if o.NoFinalNorm {
			return errTunedNoNorm
		}
		if o.ResidMid {
			return errors.New("lens: the tuned lens has translators for the blocks' outputs, not for resid_mid: turn ResidMid off")
		}
		if err := o.Tuned.Fits(cfg); err != nil {
			return err
		}
	}
	if o.ChunkRows < 0 {
		return fmt.Errorf("lens: ChunkRows %d must be positive (0 sizes chunks by memory)", o.ChunkRows)
	}
	if o.ChunkRows == 0 {
		o.ChunkRows = autoChunkRows(cfg.VocabSize)
	}
	return nil
}

// stateSpec is one row of the lens: its name and where its hidden state comes from.
type stateSpec struct {
	name string
	hook string // gpt2 hook; "" for the final state (the model's ln_f output)
}

// stateSpecs lists the rows in order: embeddings, (resid_mid), blocks…, the final block last.
func stateSpecs(o *lensnb.Options, cfg *lm.Config) []stateSpec {
	show := make(map[int]bool)
	if o.Layers == nil {
		for i := 0; i < cfg.NLayer; i++ {
			show[i] = true
		}
	} else {
		for _, l := range o.Layers {
			show[l] = true
		}
	}
	if o.Stride > 1 {
		for i := range show {
			if i%o.Stride != 0 {
				delete(show, i)
			}
		}
	}
	var out []stateSpec
	if !o.NoEmbeddings {
		out = append(out, stateSpec{"embeddings", lm.BlockHook(0, "hook_resid_pre")})
	}
	last := cfg.NLayer - 1
	for i := 0; i <= last; i++ {
		if !show[i] && i != last {
			continue
		}
		if o.ResidMid {
			out = append(out, stateSpec{fmt.Sprintf("blocks.%d.resid_mid", i), lm.BlockHook(i, "hook_resid_mid")})
		}
		name := fmt.Sprintf("blocks.%d", i)
		if i == last {
			out = append(out, stateSpec{name, ""})
		} else {
			out = append(out, stateSpec{name, lm.ResidPost(i)})
		}
	}
	return out
}

// stateHooks are the hooks a run must keep for the states specs.
func stateHooks(specs []stateSpec) []string {
	var keep []string
	for _, s := range specs {
		if s.hook != "" {
			keep = append(keep, s.hook)
		}
	}
	return keep
}

// gatherStates picks each state's vector at every position from a run that kept
// stateHooks(specs) and its hidden states: [state][position] → vector.
func gatherStates(run *lm.RunResult, specs []stateSpec) [][][]float32 {
	states := make([][][]float32, len(specs))
	for s, spec := range specs {
		arr := run.HiddenStates[len(run.HiddenStates)-1] // the final state: ln_f applied by the model
		if spec.hook != "" {
			arr = run.Hooks[spec.hook]
		}
		for t := range run.IDs {
			states[s] = append(states[s], arr.Row(t))
		}
	}
	return states
}

// packChunk fills x [S, chunk, d] with columns c0… of the first nCols columns of
// states [state][column], repeating the last one past the end so that one graph
// serves every chunk.
func packChunk(x []float32, states [][][]float32, c0, chunk, nCols, d int) {
	for s := range states {
		for p := 0; p < chunk; p++ {
			copy(x[(s*chunk+p)*d:], states[s][min(c0+p, nCols-1)])
		}
	}
}

// unembedStates is the lens's decoder: logits of x [S, P, n_embd], with the model's
// ln_f applied to every state but the last (the model's own output, already
// normalised) when finalNorm is set.
func unembedStates(m *gpt2.Model, scope *model.Scope, x *Node, finalNorm bool) *Node {
	nS := x.Shape().Dim(0)
	if finalNorm && nS > 1 {
		x = Concatenate([]*Node{m.FinalNorm(scope, Slice(x, AxisRange(0, nS-1))), Slice(x, AxisRange(nS-1, nS))}, 0)
	}
	return m.Unembed(scope, x)
}

// promptBatch runs the lens over several prompts with one batched forward pass; each
// result equals PromptIDs on that prompt alone.
func promptBatch(m *gpt2.Model, prompts [][]int, opts lensnb.Options) ([]*lensnb.Result, error) {
	cfg := m.Config
	if err := defaults(&opts, cfg); err != nil {
		return nil, err
	}
	specs := stateSpecs(&opts, cfg)
	runs, err := m.RunBatch(prompts, lm.RunOptions{Logits: lm.LogitsNone, Keep: stateHooks(specs), HiddenStates: true})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	out := make([]*lensnb.Result, len(prompts))
	for b, run := range runs {
		ids := run.IDs
		states, err := translate(opts.Tuned, cfg, specs, gatherStates(run, specs))
		if err != nil {
			return nil, err
		}
		next := make([]int, len(ids))
		for t := range ids {
			next[t] = -1
			if t+1 < len(ids) {
				next[t] = ids[t+1]
			}
		}
		r := newResult(m, opts, "prompt", ids, specs)
		for t, id := range ids {
			r.Columns = append(r.Columns, lensnb.Column{ID: id, Token: m.Tokenizer.TokenText(id), Position: t, NextID: next[t], NextToken: tokenOrEmpty(m, next[t])})
		}
		if r.Cells, err = decode(m, opts, states, next); err != nil {
			return nil, err
		}
		out[b] = r
	}
	return out, nil
}

// generateLens continues ids greedily for newTokens tokens and runs the lens over
// the generation.
func generateLens(m *gpt2.Model, ids []int, newTokens int, opts lensnb.Options) (*lensnb.Result, error) {
	gen, err := m.Generate(ids, lm.GenerateOptions{MaxNewTokens: newTokens})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return fromGeneration(m, gen, opts)
}

// fromGeneration runs the lens over an existing greedy generation (one column per
// step, each state's hidden vector at the step's last position).
func fromGeneration(m *gpt2.Model, gen *lm.Generation, opts lensnb.Options) (*lensnb.Result, error) {
	cfg := m.Config
	if err := defaults(&opts, cfg); err != nil {
		return nil, err
	}
	if opts.ResidMid {
		return nil, errors.New("lens: resid_mid states exist for the prompt lens only: generation keeps Hugging Face's hidden states")
	}
	if len(gen.Steps) == 0 || gen.Steps[0].HiddenStates == nil {
		return nil, errors.New("lens: the generation has no hidden states (generate without NoHiddenStates)")
	}
	specs := stateSpecs(&opts, cfg)
	index := map[string]int{"embeddings": 0}
	for i := 0; i < cfg.NLayer; i++ {
		index[fmt.Sprintf("blocks.%d", i)] = i + 1
	}
	states := make([][][]float32, len(specs))
	next := make([]int, len(gen.Steps))
	r := newResult(m, opts, "generate", gen.Sequence[:gen.PromptLen], specs)
	r.GeneratedIDs = append([]int(nil), gen.Generated()...)
	for j, step := range gen.Steps {
		last := len(step.Positions) - 1
		for s, spec := range specs {
			states[s] = append(states[s], step.HiddenStates[index[spec.name]].Row(last))
		}
		next[j] = step.Token
		r.Columns = append(r.Columns, lensnb.Column{ID: step.Token, Token: m.Tokenizer.TokenText(step.Token), Position: step.Positions[last], NextID: step.Token, NextToken: m.Tokenizer.TokenText(step.Token)})
	}
	states, err := translate(opts.Tuned, cfg, specs, states)
	if err != nil {
		return nil, err
	}
	if r.Cells, err = decode(m, opts, states, next); err != nil {
		return nil, err
	}
	return r, nil
}

func newResult(m *gpt2.Model, opts lensnb.Options, mode string, ids []int, specs []stateSpec) *lensnb.Result {
	r := &lensnb.Result{Model: m.Ref, Backend: m.BackendName, FinalNorm: !opts.NoFinalNorm, Mode: mode,
		InputIDs: append([]int(nil), ids...), GeneratedIDs: []int{}, TopK: opts.TopK, Target: -1}
	if opts.Tuned != nil {
		r.Lens = "tuned"
	}
	if opts.Target != nil {
		r.Target = *opts.Target
	}
	for _, id := range ids {
		r.Tokens = append(r.Tokens, m.Tokenizer.TokenText(id))
	}
	for _, s := range specs {
		r.States = append(r.States, s.name)
	}
	return r
}

func tokenOrEmpty(m *gpt2.Model, id int) string {
	if id < 0 {
		return ""
	}
	return m.Tokenizer.TokenText(id)
}

// decode turns hidden vectors states[state][column] (the last state being the
// model's final output) into cells. Columns are processed in chunks so that at most
// ChunkRows (state, column) rows of vocabulary-sized tensors exist at once.
//
// The graph unembeds a chunk and computes the softmax statistics (log-sum-exp,
// entropy, KL to the final state); the logits then come back once and a single
// pass per row, on every core, finds the top-k and the ranks. Measured on GPT-2-small
// shapes with the pure-Go backend, doing top-k and ranks as graph ops (k arg-max
// passes with masking, compare-and-count passes) cost ~2.7 s for 13×64 rows, ten
// times this pass.
func decode(m *gpt2.Model, opts lensnb.Options, states [][][]float32, next []int) ([][]lensnb.Cell, error) {
	cfg := m.Config
	nStates, nCols, d, vocab := len(states), len(next), cfg.NEmbd, cfg.VocabSize
	chunk := chunkColumns(nStates, nCols, opts.ChunkRows)
	key := fmt.Sprintf("lens:S=%d:P=%d:norm=%t", nStates, chunk, !opts.NoFinalNorm)
	exec, err := m.Exec(key, func(scope *model.Scope, in []*Node) []*Node {
		return lensGraph(m, scope, in[0], !opts.NoFinalNorm)
	})
	if err != nil {
		return nil, err
	}
	cells := make([][]lensnb.Cell, nStates)
	for s := range cells {
		cells[s] = make([]lensnb.Cell, nCols)
	}
	x := make([]float32, nStates*chunk*d)
	for c0 := 0; c0 < nCols; c0 += chunk {
		packChunk(x, states, c0, chunk, nCols, d)
		outs, err := exec.Call(tensors.FromFlatDataAndDimensions(x, nStates, chunk, d))
		if err != nil {
			return nil, fmt.Errorf("lens: %w", err)
		}
		var f [][]float32
		for _, o := range outs[1:] {
			v, err := tensors.CopyFlatData[float32](o)
			if err != nil {
				return nil, err
			}
			f = append(f, v)
		}
		lse, entropy, kl := f[0], f[1], f[2]
		// The logits are read in place, not copied: they are the largest output.
		err = tensors.ConstFlatData(outs[0], func(z []float32) {
			c0 := c0

			cols := min(chunk, nCols-c0)
			// The final state's top-1 token per column.
			finalTop := make([]int, cols)
			for p := range finalTop {
				finalTop[p] = lensmath.Argmax(z[((nStates-1)*chunk+p)*vocab : ((nStates-1)*chunk+p+1)*vocab])
			}
			lensmath.ParallelRows(nStates*cols, func(i int) {
				s, p := i/cols, i%cols
				row := s*chunk + p
				logits := z[row*vocab : (row+1)*vocab]
				cell := lensnb.Cell{Entropy: float64(entropy[row]), KLToFinal: math.Max(0, float64(kl[row])), NextID: next[c0+p], NextRank: -1, TargetRank: -1}
				if s == nStates-1 {
					cell.KLToFinal = 0 // exactly: the final state is the reference
				}
				target := 0
				if opts.Target != nil {
					target = *opts.Target
				}
				ids := []int{finalTop[p], max(cell.NextID, 0), target}
				top, ranks := lensmath.TopAndRanks(logits, opts.TopK, ids)
				l := float64(lse[row])
				for _, id := range top {
					cell.Top = append(cell.Top, lensnb.TokenProb{ID: id, Token: m.Tokenizer.TokenText(id), Logit: float64(logits[id]), Prob: math.Exp(float64(logits[id]) - l)})
				}
				cell.RankOfFinal, cell.FinalTopLogit = ranks[0], float64(logits[finalTop[p]])
				cell.FinalProb = math.Exp(cell.FinalTopLogit - l)
				if cell.NextID >= 0 {
					cell.NextProb = math.Exp(float64(logits[cell.NextID]) - l)
					cell.CrossEntropy = l - float64(logits[cell.NextID])
					cell.NextRank = ranks[1]
					cell.TopIsNext = cell.Top[0].ID == cell.NextID
				}
				if opts.Target != nil {
					cell.TargetProb = math.Exp(float64(logits[target]) - l)
					cell.TargetRank = ranks[2]
				}
				cells[s][c0+p] = cell
			})
		})
		if err != nil {
			return nil, fmt.Errorf("lens: %w", err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	return cells, nil
}

// lensGraph decodes x [S, P, n_embd] — S states at P columns, the last state being the
// model's final output — and measures each distribution against the final one:
//
//	z = lm_head(ln_f(x))               (ln_f skipped for the final state and for raw lenses)
//	lse = logsumexp(z)                 one log per row
//	entropy = lse − Σ p·z
//	KL(final ‖ z) = (Σ p_f·z_f − lse_f) − (Σ p_f·z − lse)
//
// It returns z [S, P, V] and lse, entropy, KL [S, P].
func lensGraph(m *gpt2.Model, scope *model.Scope, x *Node, finalNorm bool) []*Node {
	nS, nP := x.Shape().Dim(0), x.Shape().Dim(1)
	z := unembedStates(m, scope, x, finalNorm) // [S, P, V]

	zmax := ReduceAndKeep(z, ReduceMax, -1)
	e := Exp(Sub(z, zmax))
	sum := ReduceAndKeep(e, ReduceSum, -1)
	lse := Add(zmax, Log(sum))               // [S, P, 1]
	p := Div(e, sum)                         // [S, P, V]
	pz := ReduceSum(Mul(p, z), -1)           // Σ p·z [S, P]
	entropy := Sub(Reshape(lse, nS, nP), pz) // [S, P]
	zf := Slice(z, AxisRange(nS-1, nS))      // [1, P, V]
	pf := Slice(p, AxisRange(nS-1, nS))
	lsef := Reshape(Slice(lse, AxisRange(nS-1, nS)), 1, nP)
	pfzf := Sub(ReduceSum(Mul(pf, zf), -1), lsef)                         // [1, P]
	kl := Sub(pfzf, Sub(ReduceSum(Mul(pf, z), -1), Reshape(lse, nS, nP))) // [S, P]
	return []*Node{z, Reshape(lse, nS, nP), entropy, kl}
}
