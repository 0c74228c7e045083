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
// W_U[w] − W_U[v].

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
	keep := []string{lm.HookEmbed, lm.HookPosEmbed, embeddings}
	for i := 0; i < L; i++ {
		keep = append(keep, lm.BlockHook(i, "hook_attn_out"), lm.BlockHook(i, "hook_mlp_out"), lm.BlockHook(i, lm.HookZ), lm.ResidPost(i))
	}
	run, err := m.Run(ids, lm.RunOptions{Logits: lm.LogitsNone, Keep: keep})
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}

	// The direction w in the residual stream after ln_f, and u = centred g⊙w.
	rows, err := m.WeightRows("wte.weight", targets...)
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
	gain, err := m.Weight("ln_f.weight")
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	bias, err := m.Weight("ln_f.bias")
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	u := make([]float64, d)
	mean, biasTerm := 0.0, 0.0
	for j := range u {
		u[j] = float64(gain.Data[j]) * w[j]
		mean += u[j] / float64(d)
		biasTerm += float64(bias.Data[j]) * w[j]
	}
	for j := range u {
		u[j] -= mean
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
			scale[t] = layerNormScale(state.Row(t), cfg.LayerNormEps)
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
	a.Components = []string{"embed", "pos_embed"}
	a.Direct = [][]float64{direct(run.Hooks[lm.HookEmbed]), direct(run.Hooks[lm.HookPosEmbed])}
	for i := 0; i < L; i++ {
		a.Components = append(a.Components, fmt.Sprintf("blocks.%d.attn", i), fmt.Sprintf("blocks.%d.mlp", i))
		a.Direct = append(a.Direct, direct(run.Hooks[lm.BlockHook(i, "hook_attn_out")]), direct(run.Hooks[lm.BlockHook(i, "hook_mlp_out")]))

		// Heads: z_h · (W_O[h] u) / σ, where W_O = c_proj.weight [n_embd (heads), n_embd].
		wo, err := m.Weight(fmt.Sprintf("h.%d.attn.c_proj.weight", i))
		if err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
		bo, err := m.Weight(fmt.Sprintf("h.%d.attn.c_proj.bias", i))
		if err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
		woU := make([]float64, d) // W_O u: one value per (head, d_head) input
		for r := 0; r < d; r++ {
			woU[r] = dot(wo.Data[r*d:(r+1)*d], u)
		}
		boU := dot(bo.Data, u)
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
