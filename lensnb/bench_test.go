package lensnb_test

import (
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

var loadSmall = sync.OnceValues(func() (*lensnb.Model, error) {
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		return nil, err
	}
	return loadDir(dir)
})

func smallModel(b *testing.B) *lensnb.Model {
	m, err := loadSmall()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % 50000
	}
	return ids
}

// BenchmarkPromptLens64: 13 states × 64 positions, top-5, entropy, KL (GPT-2-small shapes).
func BenchmarkPromptLens64(b *testing.B) {
	m := smallModel(b)
	ids := benchIDs(64)
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

// BenchmarkAttribute64 is the direct logit attribution of a 64-token prompt on
// GPT-2-small shapes (every position, every component and head, a logit
// difference); BenchmarkForward64ForAttribution is the forward pass it is compared
// with (all logits, as gpt2's BenchmarkForward64). Target: ≤ 1.5× the forward pass.
func BenchmarkAttribute64(b *testing.B) {
	m := smallModel(b)
	ids := benchIDs(64)
	if _, err := lensnb.AttributeIDs(m, ids, 6342, 10598); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := lensnb.AttributeIDs(m, ids, 6342, 10598); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkForward64ForAttribution(b *testing.B) {
	m := smallModel(b)
	ids := benchIDs(64)
	if _, err := m.Run(ids, lm.RunOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Run(ids, lm.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
