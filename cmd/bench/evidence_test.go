package main

// Benchmarks behind the recommendations in BENCHMARKS.md ("What bounds us"). They
// only run with -bench, e.g.
//
//	go test ./cmd/bench -run XXX -bench . -benchtime 5x

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
)

func benchModel(b *testing.B) *gpt2.Model {
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

// BenchmarkDecodeDense is a block's dense layers (weights stored [in,out]) at M
// rows. With M=1 (a KV-cache generation step) M·K·N is under the go backend's
// "small matmul" threshold (4Mi), whose kernel works on blocks of 4 rows and
// leaves the M mod 4 remaining rows to a scalar loop reading the weights column
// by column, on one core. M=4 uses the 4-row tiles (attn.c_proj) or the
// parallel, packed "large" path (the others).
func BenchmarkDecodeDense(b *testing.B) {
	backend, _, err := gpt2.Backend()
	if err != nil {
		b.Fatal(err)
	}
	exec := MustNewExec(backend, func(x, w *Node) *Node {
		return nn.Dense(x, w, nil, compute.DenseLayoutInputOutputs)
	})
	for _, layer := range []struct {
		name string
		k, n int
	}{{"c_attn", 768, 2304}, {"attn.c_proj", 768, 768}, {"c_fc", 768, 3072}, {"mlp.c_proj", 3072, 768}} {
		w := make([]float32, layer.k*layer.n)
		for i := range w {
			w[i] = float32(i%13) * 0.001
		}
		wt := tensors.FromFlatDataAndDimensions(w, layer.k, layer.n)
		for _, rows := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/M=%d", layer.name, rows), func(b *testing.B) {
				x := tensors.FromFlatDataAndDimensions(make([]float32, rows*layer.k), rows, layer.k)
				exec.MustExec(x, wt)
				for b.Loop() {
					exec.MustExec(x, wt)[0].FinalizeAll()
				}
				b.ReportMetric(float64(len(w)*4)/b.Elapsed().Seconds()*float64(b.N)/1e9, "GB/s-weights")
			})
		}
	}
}

// BenchmarkGenerate10 is the course's generation (10 one-token KV-cache steps);
// BenchmarkForward16 one full forward pass over a 16-token prompt for comparison.
func BenchmarkGenerate10(b *testing.B) {
	m := benchModel(b)
	m.Generate(courseIDs, gpt2.GenerateOptions{MaxNewTokens: 10})
	for b.Loop() {
		if _, err := m.Generate(courseIDs, gpt2.GenerateOptions{MaxNewTokens: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkForward16(b *testing.B) {
	m := benchModel(b)
	opts := gpt2.RunOptions{Logits: gpt2.LogitsLast, HiddenStates: true}
	m.Run(tokens(16), opts)
	for b.Loop() {
		if _, err := m.Run(tokens(16), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// topAndRanksScalar is lensnb.topAndRanks as of commit 337212e (the per-row pass
// of the lens decode): three data-dependent rank branches per logit.
func topAndRanksScalar(z []float32, k int, ids []int) (top []int, ranks []int) {
	top = make([]int, 0, k+1)
	id0, id1, id2 := ids[0], ids[1], ids[2]
	a0, a1, a2 := z[id0], z[id1], z[id2]
	r0, r1, r2 := 0, 0, 0
	kth := float32(math.Inf(-1))
	for v, x := range z {
		if x >= a0 && (x > a0 || v < id0) {
			r0++
		}
		if x >= a1 && (x > a1 || v < id1) {
			r1++
		}
		if x >= a2 && (x > a2 || v < id2) {
			r2++
		}
		if len(top) == k && x <= kth {
			continue
		}
		j := len(top)
		top = append(top, v)
		for j > 0 && z[top[j-1]] < x {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
		if len(top) > k {
			top = top[:k]
		}
		if len(top) == k {
			kth = z[top[k-1]]
		}
	}
	return top, []int{r0, r1, r2}
}

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

func BenchmarkTopAndRanksScalar(b *testing.B) { benchTopK(b, topAndRanksScalar) }
