package lm

import (
	"fmt"
	"strings"
)

// Modules lists the top-level modules of GPT2LMHeadModel, PyTorch's
// model._modules: the children of the model card's root (Summary), named as in
// Hugging Face — the transformer body and the language-model head.
func Modules(cfg *Config) []string {
	var names []string
	for _, r := range NewSummary(cfg, 0).Rows {
		if r.Depth == 1 {
			name, _, _ := strings.Cut(r.Module, " ")
			names = append(names, name)
		}
	}
	return names
}

// SummaryRow is one line of the model card.
type SummaryRow struct {
	Depth  int
	Module string // e.g. "transformer.h.0 (GPT2Block)"
	Output string // output shape, e.g. "[1, 4, 768]"
	Params int    // parameters owned by this module (and its children)
}

// Summary is a torchinfo-like model card.
type Summary struct {
	Rows []SummaryRow
	// UniqueParams counts each weight once (lm_head shares wte): 124,439,808 for gpt2.
	UniqueParams int
	// TotalParams is what torchinfo reports, counting the tied lm_head again: 163,037,184 for gpt2.
	TotalParams int
	// TiedParams is the size of the shared wte / lm_head matrix.
	TiedParams int
	Blocks     int
	Outputs    int // the vocabulary size: one logit per token
}

// NewSummary describes a model of cfg for an input of seqLen tokens (batch 1);
// seqLen <= 0 shows the sequence axis as "seq".
func NewSummary(cfg *Config, seqLen int) *Summary {
	if cfg.Family != FamilyGPT2 && cfg.Family != "" {
		return familySummary(cfg, seqLen)
	}
	seq := "seq"
	if seqLen > 0 {
		seq = fmt.Sprint(seqLen)
	}
	shape := func(last int) string { return fmt.Sprintf("[1, %s, %d]", seq, last) }
	d, inner, v := cfg.NEmbd, cfg.Inner(), cfg.VocabSize
	ln := 2 * d
	attn := d*3*d + 3*d + d*d + d
	mlp := d*inner + inner + inner*d + d
	blk := 2*ln + attn + mlp
	wte, wpe := v*d, cfg.NPositions*d
	body := wte + wpe + cfg.NLayer*blk + ln

	s := &Summary{UniqueParams: body, TotalParams: body + wte, TiedParams: wte, Blocks: cfg.NLayer, Outputs: v}
	add := func(depth int, module, out string, params int) {
		s.Rows = append(s.Rows, SummaryRow{depth, module, out, params})
	}
	add(0, "GPT2LMHeadModel", shape(v), s.TotalParams)
	add(1, "transformer (GPT2Model)", shape(d), body)
	add(2, "wte (Embedding)", shape(d), wte)
	add(2, "wpe (Embedding)", fmt.Sprintf("[1, %s, %d]", seq, d), wpe)
	add(2, "h (ModuleList)", "", cfg.NLayer*blk)
	for i := 0; i < cfg.NLayer; i++ {
		add(3, fmt.Sprintf("h.%d (GPT2Block)", i), shape(d), blk)
	}
	add(2, "ln_f (LayerNorm)", shape(d), ln)
	add(1, "lm_head (Linear, tied to wte)", shape(v), wte)
	return s
}

// String renders the card as a text table with the totals and the tied-weight note.
func (s *Summary) String() string {
	var b strings.Builder
	line := strings.Repeat("=", 78) + "\n"
	b.WriteString(line)
	fmt.Fprintf(&b, "%-44s %-18s %14s\n", "Layer (type)", "Output Shape", "Param #")
	b.WriteString(line)
	for _, r := range s.Rows {
		name := strings.Repeat("  ", r.Depth) + r.Module
		fmt.Fprintf(&b, "%-44s %-18s %14s\n", name, r.Output, Thousands(r.Params))
	}
	b.WriteString(line)
	fmt.Fprintf(&b, "Total params (torchinfo count): %s\n", Thousands(s.TotalParams))
	fmt.Fprintf(&b, "Unique params:                  %s\n", Thousands(s.UniqueParams))
	fmt.Fprintf(&b, "  lm_head shares its %s weights with wte, so torchinfo counts them twice.\n", Thousands(s.TiedParams))
	fmt.Fprintf(&b, "Transformer blocks: %d   Outputs (vocabulary): %d\n", s.Blocks, s.Outputs)
	b.WriteString(line)
	return b.String()
}

// Thousands formats n with comma separators: 124439808 → "124,439,808".
func Thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// familySummary is the model card of a Llama, Qwen2, Qwen3 or GPT-NeoX model:
// the modules of its *ForCausalLM class, named as in transformers.
func familySummary(cfg *Config, seqLen int) *Summary {
	seq := "seq"
	if seqLen > 0 {
		seq = fmt.Sprint(seqLen)
	}
	shape := func(last int) string { return fmt.Sprintf("[1, %s, %d]", seq, last) }
	d, inner, v, hd := cfg.NEmbd, cfg.Inner(), cfg.VocabSize, cfg.HeadDim()
	q, kv := cfg.NHead*hd, cfg.KVHeads()*hd
	var norm, attn, mlp int
	arch, model, body, layers, final, head, block := "", "", "", "", "", "lm_head", ""
	switch cfg.Family {
	case FamilyNeoX:
		norm, attn, mlp = 2*d, d*3*d+3*d+d*d+d, d*inner+inner+inner*d+d
		arch, model, body, layers, final, head, block = "GPTNeoXForCausalLM", "GPTNeoXModel", "gpt_neox", "layers", "final_layer_norm (LayerNorm)", "embed_out", "GPTNeoXLayer"
	default:
		norm, attn, mlp = d, d*q+2*d*kv+q*d, 3*d*inner
		if cfg.AttnBias {
			attn += q + 2*kv
		}
		if cfg.QKNorm {
			attn += 2 * hd
		}
		name := map[string]string{FamilyLlama: "Llama", FamilyQwen2: "Qwen2", FamilyQwen3: "Qwen3"}[cfg.Family]
		arch, model, body, layers, final, block = name+"ForCausalLM", name+"Model", "model", "layers", "norm ("+name+"RMSNorm)", name+"DecoderLayer"
	}
	blk := 2*norm + attn + mlp
	emb := v * d
	embName := "embed_tokens (Embedding)"
	if cfg.Family == FamilyNeoX {
		embName = "embed_in (Embedding)"
	}
	total := emb + cfg.NLayer*blk + norm
	s := &Summary{UniqueParams: total + emb, TotalParams: total + emb, Blocks: cfg.NLayer, Outputs: v}
	headName := head + " (Linear)"
	if cfg.TiedEmbeddings {
		s.UniqueParams, s.TiedParams = total, emb
		headName = head + " (Linear, tied to " + strings.Fields(embName)[0] + ")"
	}
	add := func(depth int, module, out string, params int) {
		s.Rows = append(s.Rows, SummaryRow{depth, module, out, params})
	}
	add(0, arch, shape(v), s.TotalParams)
	add(1, body+" ("+model+")", shape(d), total)
	add(2, embName, shape(d), emb)
	add(2, layers+" (ModuleList)", "", cfg.NLayer*blk)
	for i := 0; i < cfg.NLayer; i++ {
		add(3, fmt.Sprintf("%s.%d (%s)", layers, i, block), shape(d), blk)
	}
	add(2, final, shape(d), norm)
	add(1, headName, shape(v), emb)
	return s
}
