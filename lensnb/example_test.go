package lensnb_test

import (
	"fmt"
	"os"

	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// exampleModel loads the tiny random-weights fixture (use gpt2.Load("gpt2") for the real model).
func exampleModel() *lensnb.Model {
	dir, _ := os.MkdirTemp("", "example-")
	if err := fixture.Write(dir, fixture.Tiny()); err != nil {
		panic(err)
	}
	m, err := loadDir(dir)
	if err != nil {
		panic(err)
	}
	return m
}

func ExamplePrompt() {
	m := exampleModel()
	r, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{TopK: 3})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.States)
	fmt.Println(r.Tokens)
	fmt.Println(len(r.Cells), "states ×", len(r.Cells[0]), "positions, top", len(r.Cells[0][0].Top))
	// Output:
	// [embeddings blocks.0 blocks.1]
	// [Are  cats  good ?]
	// 3 states × 4 positions, top 3
}

func ExampleGenerate() {
	m := exampleModel()
	// The course's Part 1: generate to 14 tokens, decode raw hidden states with lm_head.
	r, err := lensnb.Generate(m, "Are cats good?", 10, lensnb.Options{NoFinalNorm: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Mode, len(r.States), "states ×", len(r.Columns), "generated tokens")
	// Output: generate 3 states × 10 generated tokens
}

// ExampleTrace shows the logit lens written by hand on top of the tracing API:
// save every block's output, then decode each one through ln_f and lm_head.
func ExampleTrace() {
	m := exampleModel()
	tr := lensnb.NewTrace(m, "Are cats good?")
	var saved []*lensnb.Saved
	for i := 0; i < m.Config.NLayer; i++ {
		saved = append(saved, tr.Save(lm.ResidPost(i)))
	}
	out, err := tr.Run()
	if err != nil {
		panic(err)
	}
	last := len(out.Runs[0].IDs) - 1
	final := lensnb.TopTokens(m, out.Logits(0).Row(last), 1)[0]
	for i, s := range saved {
		logits, err := lensnb.DecodeLogits(m, s.Value(), true)
		if err != nil {
			panic(err)
		}
		top := lensnb.TopTokens(m, logits.Row(last), 3)
		fmt.Printf("block %d: top-3 decoded, top-1 is the final prediction: %t\n", i, top[0].ID == final.ID)
	}
	// Output:
	// block 0: top-3 decoded, top-1 is the final prediction: false
	// block 1: top-3 decoded, top-1 is the final prediction: true
}
