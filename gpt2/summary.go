package gpt2

import "github.com/logitlens-go/logitlens/lm"

// Modules lists the top-level modules of GPT2LMHeadModel (lm.Modules).
func (m *Model) Modules() []string { return lm.Modules(m.Config) }

// Summary describes the model for an input of seqLen tokens (lm.NewSummary).
func (m *Model) Summary(seqLen int) *lm.Summary { return lm.NewSummary(m.Config, seqLen) }
