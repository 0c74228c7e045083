package gpt2

// This file is GPT-2's forward pass, read top to bottom:
//
//	tokens ──wte──┐
//	              + ── block 0 ── block 1 ── … ── block n-1 ── ln_f ── wteᵀ ── logits
//	positions ─wpe┘
//
//	block(x) = x + attn(ln_1(x))       (hook_resid_pre → attn.hook_z → hook_attn_out → hook_resid_mid)
//	           + mlp(ln_2(·))          (hook_mlp_out → hook_resid_post)
//
// Every weight lives in the model store under its Hugging Face name ("h/0/attn/c_attn/weight"),
// and every activation passes through hooks.at(name, x) so that it can be read or patched.

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/logitlens-go/logitlens/lm"
)

// forward runs the transformer on ids [batch, seq] (int32) at positions [seq] (int32)
// and returns the final hidden state ln_f(x) [batch, seq, n_embd] (Hugging Face's last
// hidden state). cache, when not
// nil, holds one layerCache per block for generation with a KV cache.
func forward(scope *model.Scope, cfg *Config, ids, positions *Node, h *hooks, cache []*layerCache) *Node {
	x := embed(scope, ids, positions, h)
	blocks := scope.In("h")
	for i := 0; i < cfg.NLayer; i++ {
		var c *layerCache
		if cache != nil {
			c = cache[i]
		}
		x = block(blocks.In("%d", i), cfg, x, i, h, c)
	}
	return finalNorm(scope.In("ln_f"), cfg, x, h)
}

// finalNorm is ln_f written out so that its normalised value (before the gain and
// bias, as in TransformerLens) is the hook ln_final.hook_normalized.
func finalNorm(scope *model.Scope, cfg *Config, x *Node, h *hooks) *Node {
	g := x.Graph()
	mean := ReduceAndKeep(x, ReduceMean, -1)
	centered := Sub(x, mean)
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	normalized := Div(centered, Sqrt(AddScalar(variance, cfg.LayerNormEps)))
	normalized = h.at(lm.HookNormalized, normalized)
	gain := ExpandLeftToRank(param(scope, g, "weight"), x.Rank())
	bias := ExpandLeftToRank(param(scope, g, "bias"), x.Rank())
	return Add(Mul(normalized, gain), bias)
}

// embed adds token embeddings (wte) and position embeddings (wpe).
func embed(scope *model.Scope, ids, positions *Node, h *hooks) *Node {
	g := ids.Graph()
	wte := param(scope.In("wte"), g, "weight") // [vocab, n_embd]
	wpe := param(scope.In("wpe"), g, "weight") // [n_positions, n_embd]
	batch, seq, d := ids.Shape().Dim(0), ids.Shape().Dim(1), wte.Shape().Dim(1)

	tok := Gather(wte, ExpandAxes(ids, -1))                  // [batch, seq, n_embd]
	pos := Gather(wpe, ExpandAxes(positions, -1))            // [seq, n_embd]
	pos = BroadcastToDims(ExpandAxes(pos, 0), batch, seq, d) // same for every row of the batch
	tok = h.at("hook_embed", tok)
	pos = h.at("hook_pos_embed", pos)
	return Add(tok, pos)
}

// block is one pre-norm transformer block: attention then MLP, each added to the residual stream.
func block(scope *model.Scope, cfg *Config, x *Node, layer int, h *hooks, cache *layerCache) *Node {
	name := func(hook string) string { return fmt.Sprintf("blocks.%d.%s", layer, hook) }

	x = h.at(name("hook_resid_pre"), x)
	attnOut := attn(scope.In("attn"), cfg, layerNorm(scope.In("ln_1"), cfg, x), layer, h, cache)
	attnOut = h.at(name("hook_attn_out"), attnOut)
	x = h.at(name("hook_resid_mid"), Add(x, attnOut))

	mlpOut := mlp(scope.In("mlp"), layerNorm(scope.In("ln_2"), cfg, x))
	mlpOut = h.at(name("hook_mlp_out"), mlpOut)
	return h.at(name("hook_resid_post"), Add(x, mlpOut))
}

// attn is causal multi-head self-attention: c_attn projects to q, k, v in one matmul,
// softmax(q·kᵀ/√d_head) mixes the values, c_proj projects back. The heads' mixed
// values, side by side, are the hook blocks.{layer}.attn.hook_z.
func attn(scope *model.Scope, cfg *Config, x *Node, layer int, h *hooks, cache *layerCache) *Node {
	batch, seq, d := x.Shape().Dim(0), x.Shape().Dim(1), cfg.NEmbd
	nHead, headDim := cfg.NHead, cfg.HeadDim()

	qkv := conv1D(scope.In("c_attn"), x) // [batch, seq, 3*n_embd]
	split := func(i int) *Node {         // → [batch, seq, n_head, d_head]
		part := Slice(qkv, AxisRange(), AxisRange(), AxisRange(i*d, (i+1)*d))
		return Reshape(part, batch, seq, nHead, headDim)
	}
	q, k, v := split(0), split(1), split(2)
	scale := 1 / math.Sqrt(float64(headDim))

	var out *Node
	if cache == nil {
		out = causalSelfAttention(q, k, v, scale)
	} else {
		out = cache.attend(q, k, v, scale)
	}
	out = h.at(lm.BlockHook(layer, HookZ), Reshape(out, batch, seq, d))
	return conv1D(scope.In("c_proj"), out)
}

// causalSelfAttention is softmax(q·kᵀ·scale + causal)·v for q, k, v [batch, seq, n_head, d_head],
// written out with two einsums rather than attention.Core: the Go backend's fused attention
// kernel runs at ~1 GFLOP/s (37 s of a 1024-token forward pass), and the decomposed
// attention.Core spends much of its time transposing the [batch, seq, n_head, seq] scores.
func causalSelfAttention(q, k, v *Node, scale float64) *Node {
	g := q.Graph()
	seq := q.Shape().Dim(1)
	scores := Einsum("bqhd,bkhd->bhqk", MulScalar(q, scale), k) // [batch, n_head, seq, seq]
	scores = Add(scores, causalBias(g, scores.DType(), seq))
	probs := Softmax(scores, -1)
	return Einsum("bhqk,bkhd->bqhd", probs, v) // [batch, seq, n_head, d_head]
}

// causalBias is [1, 1, seq, seq]: 0 where key ≤ query, a large negative number above the diagonal.
func causalBias(g *Graph, dtype dtypes.DType, seq int) *Node {
	iotaShape := shapes.Make(dtypes.Int32, seq, seq)
	future := GreaterThan(Iota(g, iotaShape, 1), Iota(g, iotaShape, 0))
	zero, neg := Scalar(g, dtype, 0), Scalar(g, dtype, -1e30)
	bias := Where(future, BroadcastToDims(neg, seq, seq), BroadcastToDims(zero, seq, seq))
	return Reshape(bias, 1, 1, seq, seq)
}

// mlp is the position-wise feed-forward network: c_fc, gelu_new, c_proj.
func mlp(scope *model.Scope, x *Node) *Node {
	hidden := conv1D(scope.In("c_fc"), x)
	hidden = activation.GeluApproximate(hidden) // gelu_new: the tanh approximation
	return conv1D(scope.In("c_proj"), hidden)
}

// layerNorm normalises the last axis with the learned gain ("weight") and bias, eps from config.
func layerNorm(scope *model.Scope, cfg *Config, x *Node) *Node {
	g := x.Graph()
	gain, bias := param(scope, g, "weight"), param(scope, g, "bias")
	rank := x.Rank()
	gain = ExpandLeftToRank(gain, rank)
	bias = ExpandLeftToRank(bias, rank)
	return nn.LayerNorm(x, []int{-1}, cfg.LayerNormEps, gain, bias, nil)
}

// conv1D is Hugging Face's Conv1D: y = x·W + b with W stored [in, out] — GoMLX's
// DenseLayoutInputOutputs, so the weights are used as stored, no transpose.
func conv1D(scope *model.Scope, x *Node) *Node {
	g := x.Graph()
	return nn.Dense(x, param(scope, g, "weight"), param(scope, g, "bias"), compute.DenseLayoutInputOutputs)
}

// unembed projects hidden states [..., n_embd] onto the vocabulary with the tied
// lm_head (= wteᵀ): logits [..., vocab].
func unembed(scope *model.Scope, x *Node) *Node {
	return unembedWith(param(scope.At("wte"), x.Graph(), "weight"), x) // tied: the same wte as embed
}

// unembedWith is x·wteᵀ, wte being [vocab, n_embd].
func unembedWith(wte, x *Node) *Node {
	return nn.Dense(x, wte, nil, compute.DenseLayoutOutputsInput)
}

// param returns the stored weight name in scope as a float32 graph node: a weight
// kept in half precision (LoadOptions.KeepHalf) is widened here, where it is used.
// Multiplying in half precision with float32 accumulation would be faster (the
// pure-Go backend's F16/BF16 matmul runs at the float32 speed on half the bytes),
// but on AVX2 its packed path returns wrong values for every fourth row (GoMLX
// compute v0.1.14; cmd/bench TestEvidenceHalfMatmul), so widening it is.
// Load validated that every weight exists, so a miss here is a bug, not bad input.
func param(scope *model.Scope, g *Graph, name string) *Node {
	path := model.JoinPath(scope.Scope(), name)
	v := scope.Store().GetVariable(path)
	if v == nil {
		panic(fmt.Sprintf("gpt2: weight %q is not loaded", path))
	}
	w := v.NodeValue(g)
	if w.DType() != dtypes.Float32 {
		w = ConvertDType(w, dtypes.Float32)
	}
	return w
}
