package computepatch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"

	_ "github.com/gomlx/compute/gobackend"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go:ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func random(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// want is x [m,k] × w (+ bias) in float64: w is [k,n] (inputsOutputs) or [n,k].
func want(x, w, bias []float32, m, k, n int, inputsOutputs bool) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for l := range k {
				wv := w[j*k+l]
				if inputsOutputs {
					wv = w[l*n+j]
				}
				s += float64(x[i*k+l]) * float64(wv)
			}
			if bias != nil {
				s += float64(bias[j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

// TestFewRowsDense: nn.Dense in both weight layouts (GPT-2's Conv1D [in,out] and
// Linear/tied lm_head [out,in]), with and without bias, for row counts that take
// the thin path (1..16: groups of 4 and remainders) and two that take the large
// variant (17, 64), column counts with every tile remainder, against float64.
func TestFewRowsDense(t *testing.T) {
	backend := goBackend(t)
	r := rand.New(rand.NewPCG(1, 2))
	const k = 786 // not a multiple of 4 or 16, 18 past the last 192-wide panel: every remainder
	for _, n := range []int{64*40 + 16 + 3, 5003} {
		for _, m := range []int{1, 3, 4, 5, 8, 16, 17, 64} { // 17, 64: the large variant
			for _, layout := range []compute.DenseLayout{compute.DenseLayoutInputOutputs, compute.DenseLayoutOutputsInput} {
				for _, withBias := range []bool{false, true} {
					name := fmt.Sprintf("m%d_k%d_n%d_%v_bias%v", m, k, n, layout, withBias)
					x, w := random(r, m*k), random(r, k*n)
					var bias []float32
					if withBias {
						bias = random(r, n)
					}
					got, err := dense(backend, layout, x, w, bias, m, k, n)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					compare(t, name, got, want(x, w, bias, m, k, n, layout == compute.DenseLayoutInputOutputs), n)
				}
			}
		}
	}
}

// dense runs nn.Dense on x [m,k] and w ([k,n] or [n,k] by layout), with bias [n]
// when not nil.
func dense(backend compute.Backend, layout compute.DenseLayout, x, w, bias []float32, m, k, n int) ([][]float32, error) {
	wShape := []int{n, k}
	if layout == compute.DenseLayoutInputOutputs {
		wShape = []int{k, n}
	}
	args := []any{tensors.FromFlatDataAndDimensions(x, m, k), tensors.FromFlatDataAndDimensions(w, wShape...)}
	var got *tensors.Tensor
	var err error
	if bias == nil {
		got, err = graph.ExecOnce(backend, func(x, w *graph.Node) *graph.Node { return nn.Dense(x, w, nil, layout) }, args...)
	} else {
		args = append(args, tensors.FromFlatDataAndDimensions(bias, n))
		got, err = graph.ExecOnce(backend, func(x, w, b *graph.Node) *graph.Node { return nn.Dense(x, w, b, layout) }, args...)
	}
	if err != nil {
		return nil, err
	}
	return got.Value().([][]float32), nil
}

// TestFewRowsDot: graph.Dot with a transposed RHS through DotGeneral, the form
// the lens engine uses for the unembedding of a few states; and contractions
// shorter than one 16-float block (K = 8, with an RHS large enough for the thin
// path), where the kernels' loops run zero times.
func TestFewRowsDot(t *testing.T) {
	backend := goBackend(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ m, k, n int }{
		{1, 768, 50257 / 8}, {2, 768, 50257 / 8}, {4, 768, 50257 / 8}, {7, 768, 50257 / 8},
		{3, 8, 140003}, {9, 8, 140003},
	} {
		m, k, n := c.m, c.k, c.n
		x, w := random(r, m*k), random(r, n*k)
		got, err := graph.ExecOnce(backend, func(x, w *graph.Node) *graph.Node {
			return graph.DotGeneral(x, []int{1}, nil, w, []int{1}, nil)
		}, tensors.FromFlatDataAndDimensions(x, m, k), tensors.FromFlatDataAndDimensions(w, n, k))
		if err != nil {
			t.Fatal(err)
		}
		compare(t, fmt.Sprintf("dot_m%d_k%d", m, k), got.Value().([][]float32), want(x, w, nil, m, k, n, false), n)
	}
}

// compare allows float32 rounding of a k-term sum: |Δ| ≤ 1e-4 · (1 + |want|).
func compare(t *testing.T, name string, got [][]float32, want []float64, n int) {
	t.Helper()
	if len(got)*n != len(want) {
		t.Fatalf("%s: %d rows of output, want %d", name, len(got), len(want)/n)
	}
	worst, at := 0.0, 0
	for i, row := range got {
		if len(row) != n {
			t.Fatalf("%s: row %d has %d columns, want %d", name, i, len(row), n)
		}
		for j, v := range row {
			w := want[i*n+j]
			if d := math.Abs(float64(v)-w) / (1 + math.Abs(w)); d > worst || math.IsNaN(d) {
				worst, at = d, i*n+j
			}
		}
	}
	if worst > 1e-4 || math.IsNaN(worst) {
		t.Errorf("%s: relative error %.3g at row %d column %d (got %v, want %v)", name, worst, at/n, at%n, got[at/n][at%n], want[at])
	}
}

// TestFewRowsEachInstructionSet runs the tests above again in child processes with
// AVX-512 turned off (GoMLX then takes its AVX2 kernels, ours included) and with
// the thin path turned off (GoMLX's own variants, for comparison): the backend
// reads these settings once, at start.
func TestFewRowsEachInstructionSet(t *testing.T) {
	if os.Getenv("COMPUTEPATCH_CHILD") != "" {
		t.Skip("in a child already")
	}
	for _, env := range [][]string{
		{"GOMLX_GO_SIMD_AVX512=false"},
		{"GOMLX_GO_THIN_ROWS=0"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestFewRows(Dense|Dot)$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), "COMPUTEPATCH_CHILD=1"), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("with %v: %v\n%s", env, err, out)
		}
	}
}
