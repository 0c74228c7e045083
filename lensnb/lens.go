package lensnb

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
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
	// Target, when >= 0 and HasTarget is set, adds the probability and rank of this token to every cell.
	Target    int
	HasTarget bool
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
	// ChunkRows bounds the (state, position) rows unembedded at once (default 256):
	// memory stays O(ChunkRows × vocab) whatever the prompt length.
	ChunkRows int
}

func (o *Options) defaults(cfg *gpt2.Config) error {
	if o.TopK == 0 {
		o.TopK = 5
	}
	if o.TopK < 1 || o.TopK > cfg.VocabSize {
		return fmt.Errorf("lens: top-k %d must be between 1 and the vocabulary size %d", o.TopK, cfg.VocabSize)
	}
	if o.TopK > 64 {
		return fmt.Errorf("lens: top-k %d is too large for a table: use at most 64", o.TopK)
	}
	if o.HasTarget && (o.Target < 0 || o.Target >= cfg.VocabSize) {
		return fmt.Errorf("lens: target token id %d is outside the vocabulary [0,%d)", o.Target, cfg.VocabSize)
	}
	for _, l := range o.Layers {
		if l < 0 || l >= cfg.NLayer {
			return fmt.Errorf("lens: layer %d does not exist: the model has blocks 0..%d", l, cfg.NLayer-1)
		}
	}
	if o.Stride < 0 {
		return fmt.Errorf("lens: stride %d must be positive", o.Stride)
	}
	if o.ChunkRows == 0 {
		o.ChunkRows = 256
	}
	return nil
}

// stateSpec is one row of the lens: its name and where its hidden state comes from.
type stateSpec struct {
	name string
	hook string // gpt2 hook; "" for the final state (the model's ln_f output)
}

// states lists the rows in order: embeddings, (resid_mid), blocks…, the final block last.
func (o *Options) states(cfg *gpt2.Config) []stateSpec {
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
		out = append(out, stateSpec{"embeddings", gpt2.BlockHook(0, "hook_resid_pre")})
	}
	last := cfg.NLayer - 1
	for i := 0; i <= last; i++ {
		if !show[i] && i != last {
			continue
		}
		if o.ResidMid {
			out = append(out, stateSpec{fmt.Sprintf("blocks.%d.resid_mid", i), gpt2.BlockHook(i, "hook_resid_mid")})
		}
		name := fmt.Sprintf("blocks.%d", i)
		if i == last {
			out = append(out, stateSpec{name, ""})
		} else {
			out = append(out, stateSpec{name, gpt2.ResidPost(i)})
		}
	}
	return out
}

// Prompt tokenizes prompt and runs the lens over its positions.
func Prompt(m *gpt2.Model, prompt string, opts Options) (*Result, error) {
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return PromptIDs(m, ids, opts)
}

// PromptIDs runs the lens over the positions of a tokenized prompt: column t decodes
// what each state at position t predicts for position t+1.
func PromptIDs(m *gpt2.Model, ids []int, opts Options) (*Result, error) {
	res, err := PromptBatch(m, [][]int{ids}, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// PromptBatch runs the lens over several prompts with one batched forward pass; each
// result equals PromptIDs on that prompt alone.
func PromptBatch(m *gpt2.Model, prompts [][]int, opts Options) ([]*Result, error) {
	cfg := m.Config
	if err := opts.defaults(cfg); err != nil {
		return nil, err
	}
	specs := opts.states(cfg)
	var keep []string
	for _, s := range specs {
		if s.hook != "" {
			keep = append(keep, s.hook)
		}
	}
	runs, err := m.RunBatch(prompts, gpt2.RunOptions{Logits: gpt2.LogitsNone, Keep: keep, HiddenStates: true})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	out := make([]*Result, len(prompts))
	for b, run := range runs {
		ids := run.IDs
		states := make([][][]float32, len(specs)) // [state][position] → vector
		for s, spec := range specs {
			arr := run.HiddenStates[len(run.HiddenStates)-1]
			if spec.hook != "" {
				arr = run.Hooks[spec.hook]
			}
			for t := range ids {
				states[s] = append(states[s], arr.Row(t))
			}
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
			r.Columns = append(r.Columns, Column{ID: id, Token: m.Tokenizer.TokenText(id), Position: t, NextID: next[t], NextToken: tokenOrEmpty(m, next[t])})
		}
		if r.Cells, err = decode(m, opts, states, next); err != nil {
			return nil, err
		}
		out[b] = r
	}
	return out, nil
}

// Generate continues prompt greedily for newTokens tokens and runs the lens over
// the generation, the course's Part 1: column j decodes the hidden states of the
// step that produced generated token j (column 0 is the prompt's last position).
func Generate(m *gpt2.Model, prompt string, newTokens int, opts Options) (*Result, error) {
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	gen, err := m.Generate(ids, gpt2.GenerateOptions{MaxNewTokens: newTokens})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return FromGeneration(m, gen, opts)
}

// FromGeneration runs the lens over an existing greedy generation (one column per
// step, each state's hidden vector at the step's last position).
func FromGeneration(m *gpt2.Model, gen *gpt2.Generation, opts Options) (*Result, error) {
	cfg := m.Config
	if err := opts.defaults(cfg); err != nil {
		return nil, err
	}
	if opts.ResidMid {
		return nil, errors.New("lens: resid_mid states exist for the prompt lens only: generation keeps Hugging Face's hidden states")
	}
	if len(gen.Steps) == 0 || gen.Steps[0].HiddenStates == nil {
		return nil, errors.New("lens: the generation has no hidden states (generate without NoHiddenStates)")
	}
	specs := opts.states(cfg)
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
		r.Columns = append(r.Columns, Column{ID: step.Token, Token: m.Tokenizer.TokenText(step.Token), Position: step.Positions[last], NextID: step.Token, NextToken: m.Tokenizer.TokenText(step.Token)})
	}
	var err error
	if r.Cells, err = decode(m, opts, states, next); err != nil {
		return nil, err
	}
	return r, nil
}

func newResult(m *gpt2.Model, opts Options, mode string, ids []int, specs []stateSpec) *Result {
	r := &Result{Model: m.Ref, Backend: m.BackendName, FinalNorm: !opts.NoFinalNorm, Mode: mode,
		InputIDs: append([]int(nil), ids...), GeneratedIDs: []int{}, TopK: opts.TopK, Target: -1}
	if opts.HasTarget {
		r.Target = opts.Target
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
func decode(m *gpt2.Model, opts Options, states [][][]float32, next []int) ([][]Cell, error) {
	cfg := m.Config
	nStates, nCols, d := len(states), len(next), cfg.NEmbd
	chunk := max(1, opts.ChunkRows/nStates)
	chunk = min(chunk, nCols)
	k := opts.TopK
	key := fmt.Sprintf("lens:S=%d:P=%d:k=%d:norm=%t", nStates, chunk, k, !opts.NoFinalNorm)
	exec, err := m.Exec(key, func(scope *model.Scope, in []*Node) []*Node {
		return lensGraph(m, scope, in[0], in[1], in[2], k, !opts.NoFinalNorm)
	})
	if err != nil {
		return nil, err
	}
	cells := make([][]Cell, nStates)
	for s := range cells {
		cells[s] = make([]Cell, nCols)
	}
	target := 0
	if opts.HasTarget {
		target = opts.Target
	}
	for c0 := 0; c0 < nCols; c0 += chunk {
		// Pad the last chunk by repeating its last column so one graph serves all chunks.
		x := make([]float32, nStates*chunk*d)
		nx := make([]int32, chunk)
		for s := 0; s < nStates; s++ {
			for p := 0; p < chunk; p++ {
				col := min(c0+p, nCols-1)
				copy(x[(s*chunk+p)*d:], states[s][col])
			}
		}
		for p := 0; p < chunk; p++ {
			nx[p] = int32(max(next[min(c0+p, nCols-1)], 0))
		}
		outs, err := exec.Call(tensors.FromFlatDataAndDimensions(x, nStates, chunk, d),
			tensors.FromFlatDataAndDimensions(nx, chunk), int32(target))
		if err != nil {
			return nil, fmt.Errorf("lens: %w", err)
		}
		var f [][]float32
		for _, o := range outs[:len(outs)-3] {
			v, err := tensors.CopyFlatData[float32](o)
			if err != nil {
				return nil, err
			}
			f = append(f, v)
		}
		topIDs, err := tensors.CopyFlatData[int32](outs[len(outs)-3])
		if err != nil {
			return nil, err
		}
		ranks, err := tensors.CopyFlatData[int32](outs[len(outs)-2])
		if err != nil {
			return nil, err
		}
		finalTop, err := tensors.CopyFlatData[int32](outs[len(outs)-1])
		if err != nil {
			return nil, err
		}
		_ = finalTop
		topLogits, lse, entropy, kl, finalLogit, nextLogit, targetLogit := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
		for s := 0; s < nStates; s++ {
			for p := 0; p < chunk && c0+p < nCols; p++ {
				row := s*chunk + p
				cell := Cell{Entropy: float64(entropy[row]), KLToFinal: math.Max(0, float64(kl[row])),
					RankOfFinal: int(ranks[row*3]), FinalTopLogit: float64(finalLogit[row]), NextID: next[c0+p], NextRank: -1, TargetRank: -1}
				if s == nStates-1 {
					cell.KLToFinal = 0 // exactly: the final state is the reference
				}
				for i := 0; i < k; i++ {
					id := int(topIDs[row*k+i])
					logit := float64(topLogits[row*k+i])
					cell.Top = append(cell.Top, TokenProb{ID: id, Token: m.Tokenizer.TokenText(id), Logit: logit, Prob: math.Exp(logit - float64(lse[row]))})
				}
				if cell.NextID >= 0 {
					cell.NextProb = math.Exp(float64(nextLogit[row]) - float64(lse[row]))
					cell.CrossEntropy = float64(lse[row]) - float64(nextLogit[row])
					cell.NextRank = int(ranks[row*3+1])
					cell.TopIsNext = cell.Top[0].ID == cell.NextID
				}
				if opts.HasTarget {
					cell.TargetProb = math.Exp(float64(targetLogit[row]) - float64(lse[row]))
					cell.TargetRank = int(ranks[row*3+2])
				}
				cells[s][c0+p] = cell
			}
		}
	}
	return cells, nil
}

// lensGraph decodes x [S, P, n_embd] — S states at P columns, the last state being the
// model's final output — against the final state, all inside the graph:
//
//	z = lm_head(ln_f(x))               (ln_f skipped for the final state and for raw lenses)
//	lse = logsumexp(z)                 one log per row
//	entropy = lse − Σ p·z
//	KL(final ‖ z) = (Σ p_f·z_f − lse_f) − (Σ p_f·z − lse)
//
// and the top-k ids and logits, the final top-1 token's logit and rank, and the
// logits and ranks of the actual next token and of the target.
func lensGraph(m *gpt2.Model, scope *model.Scope, x, next, target *Node, k int, finalNorm bool) []*Node {
	g := x.Graph()
	nS, nP := x.Shape().Dim(0), x.Shape().Dim(1)
	if finalNorm && nS > 1 {
		inter := Slice(x, AxisRange(0, nS-1))
		final := Slice(x, AxisRange(nS-1, nS))
		x = Concatenate([]*Node{m.FinalNorm(scope, inter), final}, 0)
	}
	z := m.Unembed(scope, x) // [S, P, V]
	vocab := z.Shape().Dim(2)

	zmax := ReduceAndKeep(z, ReduceMax, -1)
	e := Exp(Sub(z, zmax))
	sum := ReduceAndKeep(e, ReduceSum, -1)
	lse := Add(zmax, Log(sum))               // [S, P, 1]
	p := Div(e, sum)                         // [S, P, V]
	pz := ReduceSum(Mul(p, z), -1)           // Σ p·z [S, P]
	entropy := Sub(Reshape(lse, nS, nP), pz) // [S, P]
	zf := Slice(z, AxisRange(nS-1, nS))      // [1, P, V]
	pf := Slice(p, AxisRange(nS-1, nS))      // [1, P, V]
	lsef := Slice(lse, AxisRange(nS-1, nS))  // [1, P, 1]
	pfzf := Sub(ReduceSum(Mul(pf, zf), -1), Reshape(lsef, 1, nP))
	kl := Sub(pfzf, Sub(ReduceSum(Mul(pf, z), -1), Reshape(lse, nS, nP))) // [S, P]

	// The final state's top-1 token per column, and every state's logit and rank for it.
	finalTop := ConvertDType(ArgMax(Reshape(zf, nP, vocab), -1), dtypes.Int32) // [P]
	perRow := func(ids *Node) *Node { return BroadcastToDims(Reshape(ids, 1, nP), nS, nP) }
	finalLogit, finalRank := logitAndRank(z, perRow(finalTop))
	nextLogit, nextRank := logitAndRank(z, perRow(next))
	targetLogit, targetRank := logitAndRank(z, BroadcastToDims(Reshape(target, 1, 1), nS, nP))

	// Top-k by repeated arg-max (lowest id first on ties): k cheap passes instead of a sort.
	iota := Iota(g, shapes.Make(dtypes.Int32, nS, nP, vocab), 2)
	masked := z
	var topIDs, topLogits []*Node
	negInf := Infinity(g, z.DType(), -1)
	for i := 0; i < k; i++ {
		id := ConvertDType(ArgMax(masked, -1), dtypes.Int32) // [S, P]
		topIDs = append(topIDs, ExpandAxes(id, -1))
		topLogits = append(topLogits, ExpandAxes(pick(z, id), -1))
		if i+1 < k {
			masked = Where(Equal(iota, ExpandAxes(id, -1)), BroadcastToShape(negInf, z.Shape()), masked)
		}
	}
	ranks := Stack([]*Node{finalRank, nextRank, targetRank}, -1) // [S, P, 3]
	return []*Node{
		Concatenate(topLogits, -1), Reshape(lse, nS, nP), entropy, kl, finalLogit, nextLogit, targetLogit,
		Concatenate(topIDs, -1), ranks, finalTop,
	}
}

// pick returns z[s, p, ids[s, p]] for z [S, P, V] and ids [S, P].
func pick(z, ids *Node) *Node {
	nS, nP, vocab := z.Shape().Dim(0), z.Shape().Dim(1), z.Shape().Dim(2)
	flat := Reshape(z, nS*nP*vocab)
	rows := Iota(z.Graph(), shapes.Make(dtypes.Int32, nS, nP), 0)
	cols := Iota(z.Graph(), shapes.Make(dtypes.Int32, nS, nP), 1)
	index := Add(MulScalar(Add(MulScalar(rows, nP), cols), vocab), ids)
	return Gather(flat, ExpandAxes(index, -1))
}

// logitAndRank returns z at ids and the 0-based rank of that token in its row: the
// number of tokens with a larger logit, plus those with an equal logit and lower id.
func logitAndRank(z, ids *Node) (logit, rank *Node) {
	logit = pick(z, ids)
	at := ExpandAxes(logit, -1)
	iota := Iota(z.Graph(), shapes.Make(dtypes.Int32, z.Shape().Dimensions...), 2)
	ahead := Or(GreaterThan(z, at), And(Equal(z, at), LessThan(iota, ExpandAxes(ids, -1))))
	rank = ReduceSum(ConvertDType(ahead, dtypes.Int32), -1)
	return logit, rank
}
