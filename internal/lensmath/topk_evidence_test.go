package lensmath

// Evidence for a faster top-k/rank pass (BENCHMARKS.md): the lens' scalar pass
// against a SIMD prototype on random rows. Benchmarks run only with -bench:
//
//	go test ./internal/lensmath -run TopAndRanks -bench TopAndRanks

import (
	"math/rand/v2"
	"testing"
)

// topKRows are random logits rows with random rank ids (the next token's logit is
// anywhere in the row, so its rank branch is taken about half the time).
func topKRows() (z []float32, ids [][]int) {
	const v, rows = 50257, 64
	rng := rand.New(rand.NewPCG(1, 2))
	z = make([]float32, rows*v)
	for i := range z {
		z[i] = float32(rng.NormFloat64() * 3)
	}
	for range rows {
		ids = append(ids, []int{rng.IntN(v), rng.IntN(v), 0})
	}
	return z, ids
}

func benchTopK(b *testing.B, f func([]float32, int, []int) ([]int, []int)) {
	z, ids := topKRows()
	v := len(z) / len(ids)
	for b.Loop() {
		for r := range ids {
			f(z[r*v:(r+1)*v], 5, ids[r])
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(len(z)), "ns/logit")
}

// BenchmarkTopAndRanks times the lens' scalar pass (TopAndRanks).
func BenchmarkTopAndRanks(b *testing.B) { benchTopK(b, TopAndRanks) }
