package computepatch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"
)

// BenchmarkFewRows times the products of a GPT-2-small generation step (4 rows)
// and of its lm_head on one row, and reports the weight bytes read per second:
// GOMLX_GO_THIN_ROWS=0 gives the large variant (packing) for comparison.
func BenchmarkFewRows(b *testing.B) {
	backend := goBackend(b)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		m, k, n int
		layout  compute.DenseLayout
	}{
		{1, 16, 16, compute.DenseLayoutInputOutputs}, // the call's own cost
		{4, 768, 2304, compute.DenseLayoutInputOutputs},
		{4, 768, 768, compute.DenseLayoutInputOutputs},
		{4, 768, 3072, compute.DenseLayoutInputOutputs},
		{4, 3072, 768, compute.DenseLayoutInputOutputs},
		{1, 768, 50257, compute.DenseLayoutOutputsInput},
		{16, 768, 3072, compute.DenseLayoutInputOutputs},
		{64, 768, 50257, compute.DenseLayoutOutputsInput}, // forward64's lm_head: large variant, packed
	} {
		wShape := []int{c.n, c.k}
		if c.layout == compute.DenseLayoutInputOutputs {
			wShape = []int{c.k, c.n}
		}
		x := tensors.FromFlatDataAndDimensions(random(r, c.m*c.k), c.m, c.k)
		// Enough weight matrices (on the backend, shared as the model's are) that
		// they do not fit any cache: a generation step reads 0.5 GB.
		ws := make([]*tensors.Tensor, min(1000, max(1, (256<<20)/(c.k*c.n*4))))
		for i := range ws {
			ws[i] = tensors.FromFlatDataAndDimensions(random(r, c.k*c.n), wShape...)
			if err := ws[i].MaterializeOnDevice(backend, true, 0); err != nil {
				b.Fatal(err)
			}
		}
		exec, err := graph.NewExec(backend, func(x, w *graph.Node) *graph.Node { return nn.Dense(x, w, nil, c.layout) })
		if err != nil {
			b.Fatal(err)
		}
		if err := x.MaterializeOnDevice(backend, true, 0); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("m%d_k%d_n%d_%v", c.m, c.k, c.n, c.layout), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i = (i + 1) % len(ws)
				out, err := exec.Exec(x, ws[i])
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			b.ReportMetric(float64(c.k*c.n*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
