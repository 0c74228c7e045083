package lensnb_test

import (
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

func smallModel(b *testing.B) *gpt2.Model {
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		b.Fatal(err)
	}
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkPromptLens64: 13 states × 64 positions, top-5, entropy, KL (GPT-2-small shapes).
func BenchmarkPromptLens64(b *testing.B) {
	m := smallModel(b)
	ids := make([]int, 64)
	for i := range ids {
		ids[i] = (i*7919 + 13) % 50000
	}
	if _, err := lensnb.PromptIDs(m, ids, lensnb.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := lensnb.PromptIDs(m, ids, lensnb.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
