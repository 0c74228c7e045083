package lensnb

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
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
	// rows (400 rows of GPT-2's vocabulary at 384 MiB; see chunk.go).
	ChunkRows int
}

// TokenID returns a pointer to id, for Options.Target.
func TokenID(id int) *int { return &id }

func (o *Options) defaults(cfg *lm.Config) error {
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
		if err := o.Tuned.check(cfg); err != nil {
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

// states lists the rows in order: embeddings, (resid_mid), blocks…, the final block last.
func (o *Options) states(cfg *lm.Config) []stateSpec {
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

// PromptBatch runs the lens over several prompts with one batched forward pass; each
// result equals PromptIDs on that prompt alone.
func PromptBatch(m *gpt2.Model, prompts [][]int, opts Options) ([]*Result, error) {
	if remote(m) {
		return call[[]*Result](m, "lensnb.PromptBatch", promptBatchArgs{prompts, opts})
	}
	cfg := m.Config
	if err := opts.defaults(cfg); err != nil {
		return nil, err
	}
	specs := opts.states(cfg)
	runs, err := m.RunBatch(prompts, lm.RunOptions{Logits: lm.LogitsNone, Keep: stateHooks(specs), HiddenStates: true})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	out := make([]*Result, len(prompts))
	for b, run := range runs {
		ids := run.IDs
		states, err := opts.Tuned.translate(cfg, specs, gatherStates(run, specs))
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
	if remote(m) {
		return call[*Result](m, "lensnb.Generate", generateArgs{prompt, newTokens, opts})
	}
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	gen, err := m.Generate(ids, lm.GenerateOptions{MaxNewTokens: newTokens})
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	return FromGeneration(m, gen, opts)
}

// FromGeneration runs the lens over an existing greedy generation (one column per
// step, each state's hidden vector at the step's last position).
func FromGeneration(m *gpt2.Model, gen *lm.Generation, opts Options) (*Result, error) {
	if remote(m) {
		return call[*Result](m, "lensnb.FromGeneration", fromGenerationArgs{gen, opts})
	}
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
	states, err := opts.Tuned.translate(cfg, specs, states)
	if err != nil {
		return nil, err
	}
	if r.Cells, err = decode(m, opts, states, next); err != nil {
		return nil, err
	}
	return r, nil
}

func newResult(m *gpt2.Model, opts Options, mode string, ids []int, specs []stateSpec) *Result {
	r := &Result{Model: m.Ref, Backend: m.BackendName, FinalNorm: !opts.NoFinalNorm, Mode: mode,
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
func decode(m *gpt2.Model, opts Options, states [][][]float32, next []int) ([][]Cell, error) {
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
	cells := make([][]Cell, nStates)
	for s := range cells {
		cells[s] = make([]Cell, nCols)
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
				finalTop[p] = argmax(z[((nStates-1)*chunk+p)*vocab : ((nStates-1)*chunk+p+1)*vocab])
			}
			parallelRows(nStates*cols, func(i int) {
				s, p := i/cols, i%cols
				row := s*chunk + p
				logits := z[row*vocab : (row+1)*vocab]
				cell := Cell{Entropy: float64(entropy[row]), KLToFinal: math.Max(0, float64(kl[row])), NextID: next[c0+p], NextRank: -1, TargetRank: -1}
				if s == nStates-1 {
					cell.KLToFinal = 0 // exactly: the final state is the reference
				}
				target := 0
				if opts.Target != nil {
					target = *opts.Target
				}
				ids := []int{finalTop[p], max(cell.NextID, 0), target}
				top, ranks := topAndRanks(logits, opts.TopK, ids)
				l := float64(lse[row])
				for _, id := range top {
					cell.Top = append(cell.Top, TokenProb{ID: id, Token: m.Tokenizer.TokenText(id), Logit: float64(logits[id]), Prob: math.Exp(float64(logits[id]) - l)})
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

// topAndRanks makes one pass over a row of logits: the k largest (ties: lower id
// first) and, for each id in ids, its 0-based rank (tokens with a larger logit, plus
// those with an equal logit and a lower id).
func topAndRanks(z []float32, k int, ids []int) (top []int, ranks []int) {
	top = make([]int, 0, k+1)
	// The three thresholds are unrolled: this loop runs over every logit of every cell.
	id0, id1, id2 := ids[0], ids[1], ids[2]
	a0, a1, a2 := z[id0], z[id1], z[id2]
	r0, r1, r2 := 0, 0, 0
	kth := float32(math.Inf(-1)) // the smallest logit in a full top list
	for v, x := range z {
		if x >= a0 && (x > a0 || v < id0) {
			r0++
		}
		if x >= a1 && (x > a1 || v < id1) {
			r1++
		}
		if x >= a2 && (x > a2 || v < id2) {
			r2++
		}
		if len(top) == k && x <= kth {
			continue
		}
		// Insert v keeping top sorted by logit (descending); earlier ids win ties.
		j := len(top)
		top = append(top, v)
		for j > 0 && z[top[j-1]] < x {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
		if len(top) > k {
			top = top[:k]
		}
		if len(top) == k {
			kth = z[top[k-1]]
		}
	}
	return top, []int{r0, r1, r2}
}

// logSumExp is log Σ exp(z) in float64, computed around the maximum (the
// normaliser of a row of logits, for the Go-side softmax of TopTokens and the
// patching metrics).
func logSumExp(z []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

func argmax(z []float32) int {
	best := 0
	for i, x := range z {
		if x > z[best] {
			best = i
		}
	}
	return best
}

// parallelRows runs f(0..n-1) on every core.
func parallelRows(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}
