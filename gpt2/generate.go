package gpt2

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/logitlens-go/logitlens/lm"
)

// layerCache is one block's key/value cache during generation: keys and values
// [batch, n_head, capacity, d_head] with the first `position` slots filled.
// attend writes the new keys and values at position and lets each new query see
// every filled slot up to and including its own.
type layerCache struct {
	pastK, pastV *Node // inputs
	position     *Node // scalar int32: the position of the first new token
	newK, newV   *Node // outputs: the caches with the new entries written
}

func (c *layerCache) attend(q, k, v *Node, scale float64) *Node {
	g := q.Graph()
	seq, capacity := q.Shape().Dim(1), c.pastK.Shape().Dim(2)
	// Write the new keys and values ([batch, seq, n_head, d_head] → [batch, n_head, seq, d_head]) at position.
	toBHSD := func(x *Node) *Node { return TransposeAllDims(x, 0, 2, 1, 3) }
	zero := Const(g, int32(0))
	start := []*Node{zero, zero, c.position, zero}
	c.newK = DynamicUpdateSlice(c.pastK, toBHSD(k), start)
	c.newV = DynamicUpdateSlice(c.pastV, toBHSD(v), start)

	// Query i (at position+i) may attend to slot j when j <= position+i: an additive bias.
	slots := Iota(g, shapes.Make(dtypes.Int32, seq, capacity), 1)
	queryPos := Add(Iota(g, shapes.Make(dtypes.Int32, seq, capacity), 0), BroadcastToDims(c.position, seq, capacity))
	bias := Where(LessOrEqual(slots, queryPos),
		BroadcastToDims(Scalar(g, q.DType(), 0), seq, capacity),
		BroadcastToDims(Scalar(g, q.DType(), -1e30), seq, capacity))

	scores := Einsum("bqhd,bhkd->bhqk", MulScalar(q, scale), c.newK) // [batch, n_head, seq, capacity]
	probs := Softmax(Add(scores, Reshape(bias, 1, 1, seq, capacity)), -1)
	return Einsum("bhqk,bhkd->bqhd", probs, c.newV) // [batch, seq, n_head, d_head]
}

// Generate continues ids greedily with a KV cache: the prompt runs once, then each
// step feeds one token. EOS stops generation once the length reaches MinLength.
func (m *Model) Generate(ids []int, opts GenerateOptions) (*Generation, error) {
	if err := m.checkIDs(ids); err != nil {
		return nil, err
	}
	maxLen := opts.MaxLength
	if maxLen == 0 {
		maxLen = len(ids) + opts.MaxNewTokens
	}
	switch {
	case opts.MaxLength == 0 && opts.MaxNewTokens <= 0:
		return nil, errors.New("generate: set MaxLength or MaxNewTokens")
	case maxLen <= len(ids):
		return nil, fmt.Errorf("generate: max length %d leaves no room after the %d-token prompt", maxLen, len(ids))
	case maxLen > m.Config.NPositions:
		return nil, fmt.Errorf("generate: max length %d exceeds n_positions=%d", maxLen, m.Config.NPositions)
	case opts.MinLength > maxLen:
		return nil, fmt.Errorf("generate: min length %d exceeds max length %d", opts.MinLength, maxLen)
	}
	// The prompt is padded on the right to a bucket length (few compiled shapes); the
	// padding's cache slots lie after the prompt, are masked, and are overwritten by
	// the following steps before any query may see them.
	promptPadded := bucketLen(len(ids), m.Config.NPositions)
	capacity := cacheCapacity(max(maxLen+stepPad-1, promptPadded), m.Config.NPositions)
	cfg := m.Config
	nStates := cfg.NLayer + 1

	// One graph serves the prompt and one the single-token steps (shapes differ);
	// both take the caches and the start position and return the updated caches.
	build := func(scope *model.Scope, in []*Node) []*Node {
		ids, positions, position, lastIdx := in[0], in[1], in[2], in[3]
		caches := make([]*layerCache, cfg.NLayer)
		for i := range caches {
			caches[i] = &layerCache{pastK: in[4+2*i], pastV: in[5+2*i], position: position}
		}
		h := &hooks{keep: map[string]bool{}, kept: map[string]*Node{}}
		names := lm.HiddenStateHooks(cfg)
		for _, n := range names {
			h.keep[n] = true
		}
		final := forward(scope, cfg, ids, positions, h, caches)
		rows := Reshape(final, final.Shape().Dim(1), cfg.NEmbd)
		last := Gather(rows, Reshape(lastIdx, 1, 1)) // [1, n_embd]: the last real position
		outs := []*Node{Reshape(unembed(scope, cfg, last), cfg.VocabSize)}
		for _, n := range names {
			outs = append(outs, h.kept[n])
		}
		outs = append(outs, final) // the last hidden state, ln_f applied
		for _, c := range caches {
			outs = append(outs, c.newK, c.newV)
		}
		return outs
	}

	cacheShape := shapes.Make(dtypes.Float32, 1, cfg.NHead, capacity, cfg.HeadDim())
	caches := make([]any, 2*cfg.NLayer)
	for i := range caches {
		caches[i] = tensors.FromShape(cacheShape)
	}
	gen := &Generation{Sequence: append([]int(nil), ids...), PromptLen: len(ids)}
	feed := ids
	for len(gen.Sequence) < maxLen {
		start := len(gen.Sequence) - len(feed)
		padded := stepPad // see stepPad
		if len(feed) > 1 {
			padded = promptPadded
		} else if start+stepPad > capacity {
			padded = 1 // the last slots of a full-length cache
		}
		idsT := make([]int32, padded)
		for i, id := range feed {
			idsT[i] = int32(id)
		}
		exec, err := m.exec(fmt.Sprintf("generate:cap=%d:seq=%d", capacity, padded), build)
		if err != nil {
			return nil, err
		}
		positions := make([]int32, padded) // padding positions clamp to the last one the model has
		for i := range positions {
			positions[i] = int32(min(start+i, m.Config.NPositions-1))
		}
		inputs := []any{tensors.FromFlatDataAndDimensions(idsT, 1, padded), tensors.FromFlatDataAndDimensions(positions, padded), int32(start), int32(len(feed) - 1)}
		for _, c := range caches {
			// Donated, the caches are updated in place; passed as they are, the
			// backend copies every cache on every step (its DynamicUpdateSlice
			// may not write into a buffer it does not own).
			d, err := DonateTensorBuffer(c.(*tensors.Tensor), m.backend, 0)
			if err != nil {
				return nil, fmt.Errorf("generate step %d: %w", len(gen.Steps), err)
			}
			inputs = append(inputs, d)
		}
		outs, err := exec.Call(inputs...)
		if err != nil {
			return nil, fmt.Errorf("generate step %d: %w", len(gen.Steps), err)
		}
		logits, err := tensors.CopyFlatData[float32](outs[0])
		if err != nil {
			return nil, err
		}
		step := Step{Logits: logits}
		for p := start; p < start+len(feed); p++ {
			step.Positions = append(step.Positions, p)
		}
		if !opts.NoHiddenStates {
			for i := 0; i < nStates; i++ {
				a, err := toArray(outs[1+i])
				if err != nil {
					return nil, err
				}
				step.HiddenStates = append(step.HiddenStates, trimRows(a.Sub(0), len(feed)))
			}
		}
		for i := range caches {
			caches[i] = outs[1+nStates+i]
		}
		suppressEOS := len(gen.Sequence) < opts.MinLength
		step.Token = greedy(logits, cfg.EOSTokenID, suppressEOS)
		gen.Steps = append(gen.Steps, step)
		gen.Sequence = append(gen.Sequence, step.Token)
		feed = []int{step.Token}
		if step.Token == cfg.EOSTokenID {
			break
		}
	}
	return gen, nil
}

// stepPad is how many positions each one-token step feeds (the token and padding):
// the pure-Go backend multiplies matrices in blocks of 4 rows and handles a lone
// row with a slow scalar loop (26 ms per block for 1 row against 2 ms for 4), so a
// 4-row step is ~10x faster. The padding's cache slots come after the real token,
// are masked, and are overwritten by the next step.
const stepPad = 4

// greedy returns the arg-max token (lowest id on ties); with suppressEOS the EOS
// logit counts as -inf, as Hugging Face's MinLengthLogitsProcessor does.
func greedy(logits []float32, eos int, suppressEOS bool) int {
	best, bestV := -1, float32(math.Inf(-1))
	for i, v := range logits {
		if suppressEOS && i == eos {
			continue
		}
		if best < 0 || v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// cacheCapacity rounds the needed length up to a power of two (at least 16, at most
// n_positions) so that few distinct graphs are compiled.
func cacheCapacity(need, limit int) int {
	c := 16
	for c < need {
		c *= 2
	}
	return min(c, limit)
}
