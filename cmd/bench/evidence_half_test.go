package main

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/logitlens-go/logitlens/gpt2"
)

// TestEvidenceHalfMatmul is the evidence behind gpt2's param comment: x·W with W in
// F16 or BF16 and float32 accumulation, on values that every dtype holds exactly
// (so every product and sum is exact), compared with the exact answer. The float32
// matmul must be exact; the half-precision ones are reported, not asserted: on the
// pure-Go backend with AVX2 (GoMLX compute v0.1.14) every fourth row of the packed
// ("large") path comes out wrong, which is why KeepHalf widens weights instead.
func TestEvidenceHalfMatmul(t *testing.T) {
	backend, _, err := gpt2.Backend()
	if err != nil {
		t.Fatal(err)
	}
	const m, k, n = 8, 32, 50257 // m·k·n is past the backend's small-matmul threshold
	x := make([]float32, m*k)
	for i := range x {
		x[i] = float32(i%7) * 0.25
	}
	w := make([]float32, k*n)
	for i := range w {
		w[i] = float32(i%5) * 0.5
	}
	want := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for l := 0; l < k; l++ {
				want[i*n+j] += x[i*k+l] * w[l*n+j]
			}
		}
	}
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float16, dtypes.BFloat16} {
		exec, err := NewExec(backend, func(x, w *Node) *Node {
			w = ConvertDType(w, dt)
			return Dot(ConvertDType(x, dt), w).WithOutputDType(dtypes.Float32).Product()
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x, m, k), tensors.FromFlatDataAndDimensions(w, k, n))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		wrongRows := map[int]bool{}
		for i := range got {
			if got[i] != want[i] {
				wrongRows[i/n] = true
			}
		}
		if dt == dtypes.Float32 && len(wrongRows) > 0 {
			t.Errorf("float32 matmul is wrong in %d of %d rows", len(wrongRows), m)
		}
		t.Logf("%s weights: %d of %d rows wrong %v", dt, len(wrongRows), m, wrongRows)
	}
}
