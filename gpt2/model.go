package gpt2

// This file is the forward pass of every family, read top to bottom:
//
//	tokens ──embed──┐
//	                + ── block 0 ── block 1 ── … ── block n-1 ── final norm ── lm_head ── logits
//	positions ─wpe──┘   (GPT-2 only: the others rotate q and k by position instead)
//
//	block(x) = x + attn(norm_1(x))     (hook_resid_pre → attn.hook_z → hook_attn_out → hook_resid_mid)
//	           + mlp(norm_2(·))        (hook_mlp_out → hook_resid_post)
//
// The families differ where it says so: LayerNorm or RMSNorm; one fused q/k/v
// projection (GPT-2's Conv1D, GPT-NeoX's per-head layout) or three; rotary
// position embeddings on all (Llama, Qwen) or part (GPT-NeoX) of each head; fewer
// key/value heads than query heads (grouped-query attention); Qwen3's per-head
// norm of q and k; GPT-2's gelu_new, GPT-NeoX's exact GELU or Llama's SwiGLU; and
// GPT-NeoX's parallel residual, x + attn(norm_1(x)) + mlp(norm_2(x)), whose
// hook_resid_mid is x + attn_out (the MLP reads x, as TransformerLens's
// parallel blocks do).
//
// Every weight lives in the model store under its Hugging Face name
// ("h/0/attn/c_attn/weight", "model/layers/0/self_attn/q_proj/weight"), and
// every activation passes through hooks.at(name, x) so that it can be read or
// patched.

import (
	"fmt"
	"math"
	"strings"

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
// and returns the final hidden state norm(x) [batch, seq, n_embd] (Hugging Face's
// last hidden state). cache, when not nil, holds one layerCache per block for
// generation with a KV cache.
func forward(scope *model.Scope, cfg *Config, ids, positions *Node, h *hooks, cache []*layerCache) *Node {
	n := namesOf(cfg)
	x := embed(scope, cfg, ids, positions, h)
	blocks := in(scope, n.layers)
	for i := 0; i < cfg.NLayer; i++ {
		var c *layerCache
		if cache != nil {
			c = cache[i]
		}
		x = block(blocks.In("%d", i), cfg, x, positions, i, h, c)
	}
	return finalNorm(in(scope, n.final), cfg, x, h)
}

// names are where a family keeps its weights (Hugging Face's module names).
type names struct {
	embed, layers, final, head string // from the root; head "" when tied to embed
	norm1, norm2, attn         string // inside a block
}

func namesOf(cfg *Config) names {
	switch cfg.Family {
	case lm.FamilyLlama, lm.FamilyQwen2, lm.FamilyQwen3:
		return names{embed: "model/embed_tokens", layers: "model/layers", final: "model/norm", head: untied(cfg, "lm_head"),
			norm1: "input_layernorm", norm2: "post_attention_layernorm", attn: "self_attn"}
	case lm.FamilyNeoX:
		return names{embed: "gpt_neox/embed_in", layers: "gpt_neox/layers", final: "gpt_neox/final_layer_norm", head: untied(cfg, "embed_out"),
			norm1: "input_layernorm", norm2: "post_attention_layernorm", attn: "attention"}
	}
	return names{embed: "wte", layers: "h", final: "ln_f", norm1: "ln_1", norm2: "ln_2", attn: "attn"}
}

func untied(cfg *Config, head string) string {
	if cfg.TiedEmbeddings {
		return ""
	}
	return head
}

// in descends into a scope path such as "model/layers" (with At: a module is
// reached more than once, e.g. a tied embedding by embed and by lm_head).
func in(scope *model.Scope, path string) *model.Scope {
	for _, p := range strings.Split(path, "/") {
		scope = scope.At("%s", p)
	}
	return scope
}

// finalNorm is the final norm (ln_f, model.norm, final_layer_norm) written out so
// that its normalised value (before the weight and bias, as in TransformerLens)
// is the hook ln_final.hook_normalized.
func finalNorm(scope *model.Scope, cfg *Config, x *Node, h *hooks) *Node {
	g := x.Graph()
	var normalized *Node
	if cfg.RMSNorm {
		normalized = Mul(x, Rsqrt(AddScalar(ReduceAndKeep(Square(x), ReduceMean, -1), cfg.LayerNormEps)))
	} else {
		centered := Sub(x, ReduceAndKeep(x, ReduceMean, -1))
		variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
		normalized = Div(centered, Sqrt(AddScalar(variance, cfg.LayerNormEps)))
	}
	normalized = h.at(lm.HookNormalized, normalized)
	out := Mul(normalized, ExpandLeftToRank(param(scope, g, "weight"), x.Rank()))
	if cfg.RMSNorm {
		return out
	}
	return Add(out, ExpandLeftToRank(param(scope, g, "bias"), x.Rank()))
}

// embed looks the tokens up (hook_embed); GPT-2 adds its learned position
// embeddings (hook_pos_embed).
func embed(scope *model.Scope, cfg *Config, ids, positions *Node, h *hooks) *Node {
	g := ids.Graph()
	wte := param(in(scope, namesOf(cfg).embed), g, "weight")    // [vocab, n_embd]
	tok := h.at(lm.HookEmbed, Gather(wte, ExpandAxes(ids, -1))) // [batch, seq, n_embd]
	if cfg.Family != lm.FamilyGPT2 {
		return tok
	}
	wpe := param(scope.In("wpe"), g, "weight") // [n_positions, n_embd]
	batch, seq, d := ids.Shape().Dim(0), ids.Shape().Dim(1), wte.Shape().Dim(1)
	pos := Gather(wpe, ExpandAxes(positions, -1))            // [seq, n_embd]
	pos = BroadcastToDims(ExpandAxes(pos, 0), batch, seq, d) // same for every row of the batch
	pos = h.at(lm.HookPosEmbed, pos)
	return Add(tok, pos)
}

// block is one pre-norm transformer block: attention then MLP, each added to the
// residual stream (GPT-NeoX's parallel residual adds both to the block's input).
func block(scope *model.Scope, cfg *Config, x, positions *Node, layer int, h *hooks, cache *layerCache) *Node {
	name := func(hook string) string { return fmt.Sprintf("blocks.%d.%s", layer, hook) }
	n := namesOf(cfg)

	x = h.at(name("hook_resid_pre"), x)
	attnOut := attn(scope.In("%s", n.attn), cfg, norm(scope.In("%s", n.norm1), cfg, x), positions, layer, h, cache)
	attnOut = h.at(name("hook_attn_out"), attnOut)
	mid := h.at(name("hook_resid_mid"), Add(x, attnOut))

	mlpIn := mid
	if cfg.ParallelResidual {
		mlpIn = x
	}
	mlpOut := mlp(scope.In("mlp"), cfg, norm(scope.In("%s", n.norm2), cfg, mlpIn))
	mlpOut = h.at(name("hook_mlp_out"), mlpOut)
	return h.at(name("hook_resid_post"), Add(mid, mlpOut))
}

// attn is causal multi-head self-attention: q, k, v projected from x, rotated by
// position where the family uses rotary embeddings, softmax(q·kᵀ/√d_head) mixing
// the values, and the output projection. The heads' mixed values, side by side,
// are the hook blocks.{layer}.attn.hook_z.
func attn(scope *model.Scope, cfg *Config, x, positions *Node, layer int, h *hooks, cache *layerCache) *Node {
	batch, seq := x.Shape().Dim(0), x.Shape().Dim(1)
	nHead, headDim := cfg.NHead, cfg.HeadDim()
	q, k, v := projectQKV(scope, cfg, x) // [batch, seq, heads, d_head]
	if cfg.QKNorm {                      // Qwen3: RMSNorm of each head's q and k, before the rotation
		q, k = rmsNorm(scope.In("q_norm"), cfg, q), rmsNorm(scope.In("k_norm"), cfg, k)
	}
	if cfg.RotaryDims() > 0 {
		q, k = rotate(cfg, q, positions), rotate(cfg, k, positions)
	}
	k, v = repeatKV(cfg, k), repeatKV(cfg, v) // grouped-query attention: each kv head serves n_head/n_kv heads
	scale := 1 / math.Sqrt(float64(headDim))

	var out *Node
	if cache == nil {
		out = causalSelfAttention(q, k, v, scale)
	} else {
		out = cache.attend(q, k, v, scale)
	}
	out = h.at(lm.BlockHook(layer, HookZ), Reshape(out, batch, seq, nHead*headDim))
	switch cfg.Family {
	case lm.FamilyGPT2:
		return conv1D(scope.In("c_proj"), out)
	case lm.FamilyNeoX:
		return linear(scope.In("dense"), out, true)
	}
	return linear(scope.In("o_proj"), out, false)
}

// projectQKV projects x [batch, seq, n_embd] to q [batch, seq, n_head, d_head]
// and k, v [batch, seq, n_kv_head, d_head].
func projectQKV(scope *model.Scope, cfg *Config, x *Node) (q, k, v *Node) {
	batch, seq := x.Shape().Dim(0), x.Shape().Dim(1)
	nHead, nKV, headDim := cfg.NHead, cfg.KVHeads(), cfg.HeadDim()
	switch cfg.Family {
	case lm.FamilyGPT2: // c_attn: [q | k | v], each n_embd wide
		qkv := conv1D(scope.In("c_attn"), x)
		d := cfg.NEmbd
		split := func(i int) *Node {
			return Reshape(Slice(qkv, AxisRange(), AxisRange(), AxisRange(i*d, (i+1)*d)), batch, seq, nHead, headDim)
		}
		return split(0), split(1), split(2)
	case lm.FamilyNeoX: // query_key_value: per head, its q, k and v side by side
		qkv := Reshape(linear(scope.In("query_key_value"), x, true), batch, seq, nHead, 3, headDim)
		part := func(i int) *Node {
			return Reshape(Slice(qkv, AxisRange(), AxisRange(), AxisRange(), AxisRange(i, i+1)), batch, seq, nHead, headDim)
		}
		return part(0), part(1), part(2)
	}
	proj := func(name string, heads int) *Node {
		return Reshape(linear(scope.In("%s", name), x, cfg.AttnBias), batch, seq, heads, headDim)
	}
	return proj("q_proj", nHead), proj("k_proj", nKV), proj("v_proj", nKV)
}

// rotate applies the rotary position embedding to x [batch, seq, heads, d_head]
// at positions [seq] (Hugging Face's rotate_half convention): the first
// RotaryDims dimensions of each head turn by position·θ_i, the rest pass.
func rotate(cfg *Config, x, positions *Node) *Node {
	g := x.Graph()
	rd, hd := cfg.RotaryDims(), cfg.HeadDim()
	invFreq := Const(g, ropeInvFreq(cfg)) // [rd/2]
	pos := ConvertDType(positions, dtypes.Float32)
	angles := Mul(ExpandAxes(pos, -1), ExpandAxes(invFreq, 0)) // [seq, rd/2]
	angles = Concatenate([]*Node{angles, angles}, -1)          // [seq, rd]
	seq := angles.Shape().Dim(0)
	cos, sin := Reshape(Cos(angles), 1, seq, 1, rd), Reshape(Sin(angles), 1, seq, 1, rd)
	rot := x
	var pass *Node
	if rd < hd {
		rot, pass = Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, rd)), Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(rd, hd))
	}
	x1 := Slice(rot, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, rd/2))
	x2 := Slice(rot, AxisRange(), AxisRange(), AxisRange(), AxisRange(rd/2, rd))
	half := Concatenate([]*Node{Neg(x2), x1}, -1) // rotate_half
	out := Add(Mul(rot, cos), Mul(half, sin))
	if pass != nil {
		out = Concatenate([]*Node{out, pass}, -1)
	}
	return out
}

// ropeInvFreq is θ^(−2i/d) for the rotated dimensions, scaled as rope_scaling says
// (linear: every frequency divided by the factor; llama3: low frequencies divided,
// high ones kept, a smooth blend between — transformers' _compute_llama3_parameters).
func ropeInvFreq(cfg *Config) []float32 {
	rd := cfg.RotaryDims()
	out := make([]float32, rd/2)
	s := cfg.RopeScaling
	for i := range out {
		f := 1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(rd))
		switch {
		case s == nil:
		case s.Type == "linear":
			f /= s.Factor
		case s.Type == "llama3":
			old := float64(s.OriginalMaxPositionEmbeddings)
			lowWave, highWave := old/s.LowFreqFactor, old/s.HighFreqFactor
			wave := 2 * math.Pi / f
			switch {
			case wave > lowWave:
				f /= s.Factor
			case wave >= highWave:
				smooth := (old/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				f = (1-smooth)*f/s.Factor + smooth*f
			}
		}
		out[i] = float32(f)
	}
	return out
}

// repeatKV gives each of the n_head query heads its key/value head: x [batch,
// seq, n_kv, d] → [batch, seq, n_head, d], head j reading kv head j/(n_head/n_kv).
func repeatKV(cfg *Config, x *Node) *Node {
	nKV := cfg.KVHeads()
	if nKV == cfg.NHead {
		return x
	}
	b, s, d := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(3)
	group := cfg.NHead / nKV
	x = BroadcastToDims(ExpandAxes(x, 3), b, s, nKV, group, d)
	return Reshape(x, b, s, cfg.NHead, d)
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

// mlp is the position-wise feed-forward network: GPT-2's c_fc, gelu_new, c_proj;
// GPT-NeoX's dense_h_to_4h, exact GELU, dense_4h_to_h; Llama's and Qwen's SwiGLU,
// down_proj(silu(gate_proj(x)) · up_proj(x)).
func mlp(scope *model.Scope, cfg *Config, x *Node) *Node {
	switch cfg.Family {
	case lm.FamilyGPT2:
		hidden := conv1D(scope.In("c_fc"), x)
		hidden = activation.GeluApproximate(hidden) // gelu_new: the tanh approximation
		return conv1D(scope.In("c_proj"), hidden)
	case lm.FamilyNeoX:
		return linear(scope.In("dense_4h_to_h"), activation.Gelu(linear(scope.In("dense_h_to_4h"), x, true)), true)
	}
	gate := linear(scope.In("gate_proj"), x, false)
	gate = Mul(gate, Sigmoid(gate)) // silu
	return linear(scope.In("down_proj"), Mul(gate, linear(scope.In("up_proj"), x, false)), false)
}

// norm is the family's pre-norm: LayerNorm with the learned gain ("weight") and
// bias, or RMSNorm with the weight alone; eps from config.
func norm(scope *model.Scope, cfg *Config, x *Node) *Node {
	if cfg.RMSNorm {
		return rmsNorm(scope, cfg, x)
	}
	return layerNorm(scope, cfg, x)
}

// rmsNorm is x / √(mean(x²) + eps) · weight over the last axis.
func rmsNorm(scope *model.Scope, cfg *Config, x *Node) *Node {
	w := ExpandLeftToRank(param(scope, x.Graph(), "weight"), x.Rank())
	return Mul(Mul(x, Rsqrt(AddScalar(ReduceAndKeep(Square(x), ReduceMean, -1), cfg.LayerNormEps))), w)
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

// conv1D is Hugging Face's Conv1D (GPT-2): y = x·W + b with W stored [in, out] —
// GoMLX's DenseLayoutInputOutputs, so the weights are used as stored, no transpose.
func conv1D(scope *model.Scope, x *Node) *Node {
	g := x.Graph()
	return nn.Dense(x, param(scope, g, "weight"), param(scope, g, "bias"), compute.DenseLayoutInputOutputs)
}

// linear is PyTorch's nn.Linear: y = x·Wᵀ (+ b) with W stored [out, in].
func linear(scope *model.Scope, x *Node, bias bool) *Node {
	g := x.Graph()
	var b *Node
	if bias {
		b = param(scope, g, "bias")
	}
	return nn.Dense(x, param(scope, g, "weight"), b, compute.DenseLayoutOutputsInput)
}

// unembed projects hidden states [..., n_embd] onto the vocabulary with lm_head:
// the token embedding matrix when tied (GPT-2's wteᵀ), else its own matrix.
func unembed(scope *model.Scope, cfg *Config, x *Node) *Node {
	return unembedWith(param(headScope(scope, cfg), x.Graph(), "weight"), x)
}

// headScope is lm_head's scope under the root scope: the embedding's when tied.
func headScope(scope *model.Scope, cfg *Config) *model.Scope {
	if n := namesOf(cfg); n.head != "" {
		return in(scope, n.head)
	}
	return in(scope, namesOf(cfg).embed)
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
