package main

// Benchmarks behind the recommendations in BENCHMARKS.md ("What bounds us"). They
// only run with -bench, e.g.
//
//	go test ./cmd/bench -run XXX -bench . -benchtime 5x

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lm"
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
	m.Generate(courseIDs, lm.GenerateOptions{MaxNewTokens: 10})
	for b.Loop() {
		if _, err := m.Generate(courseIDs, lm.GenerateOptions{MaxNewTokens: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkForward16(b *testing.B) {
	m := benchModel(b)
	opts := lm.RunOptions{Logits: lm.LogitsLast, HiddenStates: true}
	m.Run(tokens(16), opts)
	for b.Loop() {
		if _, err := m.Run(tokens(16), opts); err != nil {
			b.Fatal(err)
		}
	}
}
