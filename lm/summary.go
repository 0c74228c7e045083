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
