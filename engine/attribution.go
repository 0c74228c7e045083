package engine

// Direct logit attribution (DLA): which part of the model wrote a logit.
//
// The residual stream at the end of the last block is a sum of what every part
// wrote into it: x = embed + pos_embed + Σ_i (attn_out_i + mlp_out_i), and block
// i's attention output is itself Σ_h z_h · W_O[h] + b_O (head h's values through its
// rows of c_proj). The logit of token w at a position is ln_f(x) · W_U[w]. With the
// LayerNorm's scale σ of that position frozen (as TransformerLens's
// apply_ln_to_stack does), ln_f is linear in x:
//
//	ln_f(x)·W_U[w] = Σ_c c·u/σ + b·W_U[w],   u = g⊙W_U[w] − mean(g⊙W_U[w])
//
// (g, b: ln_f's gain and bias; centring c is the same as centring u). So each
// component's direct contribution is c·u/σ, and they add up to the model's own
// logit exactly. For a logit difference (" Paris" vs " Rome") W_U[w] is replaced by
// W_U[w] − W_U[v]. An RMSNorm (Llama, Qwen) does not centre: u = g⊙W_U[w], σ =
// √(mean(x²) + eps), and there is no bias term; GPT-2's position embeddings are a
// component of their own, the rotary families have none.

import (
	"errors"
	"fmt"
	"math"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// attribute computes the direct logit attribution of ids for one target token, or
// two for the logit difference targets[0] − targets[1].
func attribute(m *gpt2.Model, ids []int, targets []int) (*lensnb.Attribution, error) {
	cfg := m.Config
	if len(targets) < 1 || len(targets) > 2 {
		return nil, fmt.Errorf("attribute: give one token (its logit) or two (their logit difference), not %d", len(targets))
	}
	for _, id := range targets {
		if id < 0 || id >= cfg.VocabSize {
			return nil, fmt.Errorf("attribute: token id %d is outside the vocabulary [0,%d)", id, cfg.VocabSize)
		}
	}
	if len(targets) == 2 && targets[0] == targets[1] {
		return nil, errors.New("attribute: the two tokens are the same: their logit difference is 0 everywhere")
	}
	L, nh, dh, d := cfg.NLayer, cfg.NHead, cfg.HeadDim(), cfg.NEmbd

	// One forward pass keeping every component and the final residual stream.
	embeddings := lm.BlockHook(0, "hook_resid_pre")
	posEmbed := cfg.RotaryDims() == 0 // GPT-2's learned position embeddings are a component of their own
	keep := []string{lm.HookEmbed, embeddings}
	if posEmbed {
		keep = append(keep, lm.HookPosEmbed)
	}
	for i := 0; i < L; i++ {
		keep = append(keep, lm.BlockHook(i, "hook_attn_out"), lm.BlockHook(i, "hook_mlp_out"), lm.BlockHook(i, lm.HookZ), lm.ResidPost(i))
	}
	run, err := m.Run(ids, lm.RunOptions{Logits: lm.LogitsNone, Keep: keep})
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}

	// The direction w in the residual stream after the final norm, and u = g⊙w,
	// centred for LayerNorm (RMSNorm does not centre: its linearisation is g⊙w/σ).
	rows, err := m.WeightRows(gpt2.HeadWeight(cfg), targets...)
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	w := make([]float64, d)
	for j := range w {
		w[j] = float64(rows.Data[j])
		if len(targets) == 2 {
			w[j] -= float64(rows.Data[d+j])
		}
	}
	gainName, biasName := gpt2.NormWeights(cfg)
	gain, err := m.Weight(gainName)
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	bias := &lm.Array{Shape: []int{d}, Data: make([]float32, d)} // RMSNorm has none
	if biasName != "" {
		if bias, err = m.Weight(biasName); err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
	}
	u := make([]float64, d)
	mean, biasTerm := 0.0, 0.0
	for j := range u {
		u[j] = float64(gain.Data[j]) * w[j]
		mean += u[j] / float64(d)
		biasTerm += float64(bias.Data[j]) * w[j]
	}
	for j := range u {
		if !cfg.RMSNorm {
			u[j] -= mean
		}
	}

	T := len(ids)
	a := &lensnb.Attribution{Model: m.Ref, InputIDs: append([]int(nil), ids...), Token: targets[0], TokenText: m.Tokenizer.TokenText(targets[0]), Versus: -1,
		Bias: make([]float64, T), Logit: make([]float64, T), Scale: make([]float64, T)}
	if len(targets) == 2 {
		a.Versus, a.VersusText = targets[1], m.Tokenizer.TokenText(targets[1])
	}
	for _, id := range ids {
		a.Tokens = append(a.Tokens, m.Tokenizer.TokenText(id))
	}
	for s := 0; s <= L; s++ {
		state := run.Hooks[embeddings]
		if s > 0 {
			state = run.Hooks[lm.ResidPost(s-1)]
		}
		lens, scale := make([]float64, T), make([]float64, T)
		for t := range lens {
			scale[t] = normScale(state.Row(t), cfg)
			lens[t] = dot(state.Row(t), u)/scale[t] + biasTerm
		}
		a.Lens, a.StateScale = append(a.Lens, lens), append(a.StateScale, scale)
	}
	for t := 0; t < T; t++ {
		a.Scale[t] = a.StateScale[L][t]
		a.Bias[t] = biasTerm
		a.Logit[t] = a.Lens[L][t]
	}
	// direct is c·u/σ at every position of a [T, d] activation.
	direct := func(c *lm.Array) []float64 {
		out := make([]float64, T)
		for t := range out {
			out[t] = dot(c.Row(t), u) / a.Scale[t]
		}
		return out
	}
	a.Components = []string{"embed"}
	a.Direct = [][]float64{direct(run.Hooks[lm.HookEmbed])}
	if posEmbed {
		a.Components = append(a.Components, "pos_embed")
		a.Direct = append(a.Direct, direct(run.Hooks[lm.HookPosEmbed]))
	}
	for i := 0; i < L; i++ {
		a.Components = append(a.Components, fmt.Sprintf("blocks.%d.attn", i), fmt.Sprintf("blocks.%d.mlp", i))
		a.Direct = append(a.Direct, direct(run.Hooks[lm.BlockHook(i, "hook_attn_out")]), direct(run.Hooks[lm.BlockHook(i, "hook_mlp_out")]))

		// Heads: z_h · (W_O[h] u) / σ, W_O mapping the heads' values to the stream.
		woU, boU, err := outputDirection(m, i, u)
		if err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
		z := run.Hooks[lm.BlockHook(i, lm.HookZ)] // [T, n_head, d_head]
		heads := make([][]float64, nh)
		for h := range heads {
			heads[h] = make([]float64, T)
			for t := 0; t < T; t++ {
				zt := z.Data[(t*nh+h)*dh : (t*nh+h+1)*dh]
				heads[h][t] = dot(zt, woU[h*dh:(h+1)*dh]) / a.Scale[t]
			}
		}
		hb := make([]float64, T)
		for t := range hb {
			hb[t] = boU / a.Scale[t]
		}
		a.Heads = append(a.Heads, heads)
		a.HeadBias = append(a.HeadBias, hb)
	}
	return a, nil
}

// outputDirection is W_O·u for block i's attention output projection — one value
// per (head, d_head) input — and its bias's b_O·u (0 without a bias). GPT-2's
// c_proj is stored [in, out] (Conv1D); the others' o_proj / dense [out, in].
func outputDirection(m *gpt2.Model, i int, u []float64) (woU []float64, boU float64, err error) {
	cfg := m.Config
	in, d := cfg.NHead*cfg.HeadDim(), cfg.NEmbd
	var wName, bName string
	switch cfg.Family {
	case lm.FamilyGPT2:
		wName, bName = fmt.Sprintf("h.%d.attn.c_proj.weight", i), fmt.Sprintf("h.%d.attn.c_proj.bias", i)
	case lm.FamilyNeoX:
		wName, bName = fmt.Sprintf("gpt_neox.layers.%d.attention.dense.weight", i), fmt.Sprintf("gpt_neox.layers.%d.attention.dense.bias", i)
	default:
		wName = fmt.Sprintf("model.layers.%d.self_attn.o_proj.weight", i)
	}
	wo, err := m.Weight(wName)
	if err != nil {
		return nil, 0, err
	}
	woU = make([]float64, in)
	if cfg.Family == lm.FamilyGPT2 {
		for r := range woU {
			woU[r] = dot(wo.Data[r*d:(r+1)*d], u)
		}
	} else {
		for j := 0; j < d; j++ {
			row := wo.Data[j*in : (j+1)*in]
			for r, x := range row {
				woU[r] += float64(x) * u[j]
			}
		}
	}
	if bName != "" {
		bo, err := m.Weight(bName)
		if err != nil {
			return nil, 0, err
		}
		boU = dot(bo.Data, u)
	}
	return woU, boU, nil
}

// normScale is the final norm's σ for x: √(var(x) + eps) for LayerNorm (the
// population variance), √(mean(x²) + eps) for RMSNorm.
func normScale(x []float32, cfg *lm.Config) float64 {
	if cfg.RMSNorm {
		s := 0.0
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s/float64(len(x)) + cfg.LayerNormEps)
	}
	return layerNormScale(x, cfg.LayerNormEps)
}

// layerNormScale is √(var(x) + eps), the population variance, as LayerNorm computes it.
func layerNormScale(x []float32, eps float64) float64 {
	mean := 0.0
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	variance := 0.0
	for _, v := range x {
		variance += (float64(v) - mean) * (float64(v) - mean)
	}
	return math.Sqrt(variance/float64(len(x)) + eps)
}

func dot(x []float32, y []float64) float64 {
	s := 0.0
	for i, v := range x {
		s += float64(v) * y[i]
	}
	return s
}
