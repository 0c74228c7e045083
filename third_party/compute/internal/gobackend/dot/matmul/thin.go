// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package matmul

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/dot"
	"github.com/gomlx/compute/support/envutil"
)

// ThinLHSMaxRows is the most LHS rows a product may have to take the thin path
// (see IsThin); 0 turns the path off. Environment variable GOMLX_GO_THIN_ROWS
// sets it.
var ThinLHSMaxRows = 16

// ThinWideTiles lets the thin path use eight-row tiles where the instruction set
// has them (AVX-512); GOMLX_GO_THIN_WIDE=false turns them off, for comparisons.
var ThinWideTiles = true

func init() {
	ThinLHSMaxRows = envutil.MustReadInt(envutil.GoBackendThinRows, ThinLHSMaxRows)
	ThinWideTiles = envutil.MustReadBool(envutil.GoBackendThinWide, ThinWideTiles)
}

// IsThin reports whether a product should take the thin path: one batch item, at
// most ThinLHSMaxRows LHS rows, and an RHS of at least ThinMinRHSSize elements.
// The large variant packs the whole RHS before it multiplies, which for so few
// rows reads and writes the RHS twice more than the product itself reads it (a
// generation step of a language model multiplies a few rows by every weight
// matrix); the thin path (ThinFloat32) reads the RHS once, front to back, in its
// stored layout, split among the workers.
func IsThin(batchSize, lhsCrossSize, rhsCrossSize, contractingSize int) bool {
	return !ForceLargeVariant && !ForceSmallVariant && batchSize == 1 &&
		lhsCrossSize > 0 && lhsCrossSize <= ThinLHSMaxRows &&
		rhsCrossSize*contractingSize >= ThinMinRHSSize
}

// ThinMinRHSSize is the fewest RHS elements for the thin path: below it, the RHS
// is cheap to read on one core and the small variant is as fast.
var ThinMinRHSSize = 1 << 20

// ThinKernelsFloat32 are the two loops of the thin path, written in assembly for
// each instruction set (avx512, avx2); both take whole 16-float blocks.
type ThinKernelsFloat32 struct {
	// AccTile4x4 adds, for v < vecs and r < 4, coef[4r:4r+4] · (w0..w3)[16v:16v+16]
	// to a_r[16v:16v+16]: four LHS rows times four RHS rows (of K), accumulated.
	AccTile4x4 func(coef *[16]float32, w0, w1, w2, w3, a0, a1, a2, a3 unsafe.Pointer, vecs int)
	// AccTile4x8, when not nil, does the same for eight consecutive RHS rows (w,
	// w+wRowBytes, …) with coef[8r+j] for LHS row r and RHS row j.
	AccTile4x8 func(coef *[32]float32, w unsafe.Pointer, wRowBytes int, a0, a1, a2, a3 unsafe.Pointer, vecs int)
	// Dot1x8 leaves in sums[j] 16 partial sums (lanes) of lhs[0:16·vecs] · the RHS
	// row j, for eight RHS rows from rhs, rhsRowBytes apart.
	Dot1x8 func(lhs, rhs unsafe.Pointer, rhsRowBytes, vecs int, sums *[8][16]float32)
}

// ThinFloat32 computes the float32 product when IsThin says so, with kernels, and
// reports whether it did.
func ThinFloat32(backend *gobackend.Backend, layout dot.Layout, lhs, rhs []float32,
	batchSize, lhsCrossSize, rhsCrossSize, contractingSize int, output []float32, kernels *ThinKernelsFloat32) bool {
	if !IsThin(batchSize, lhsCrossSize, rhsCrossSize, contractingSize) {
		return false
	}
	workers := 1
	if backend.Workers != nil {
		workers = backend.Workers.AdjustedMaxParallelism()
	}
	if layout == dot.LayoutNonTransposed {
		thinNonTransposedFloat32(backend, workers, kernels, lhs, rhs, lhsCrossSize, rhsCrossSize, contractingSize, output)
		return true
	}
	// Transposed: the RHS rows are the output columns, each a contiguous run of
	// contractingSize values; the workers take blocks of whole rows.
	const rowsPerChunk = 512
	parallel(backend, workers, (rhsCrossSize+rowsPerChunk-1)/rowsPerChunk, func(i int) {
		thinTransposedFloat32(kernels, lhs, rhs, lhsCrossSize, rhsCrossSize, contractingSize, output,
			i*rowsPerChunk, min((i+1)*rowsPerChunk, rhsCrossSize))
	})
	return true
}

// parallel runs chunk(0..n-1) on up to workers of the backend's workers.
func parallel(backend *gobackend.Backend, workers, n int, chunk func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			chunk(i)
		}
		return
	}
	var next atomic.Int64
	backend.Workers.Saturate(func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			chunk(i)
		}
	})
}

// thinNonTransposedFloat32: output = lhs [M, K] × rhs [K, N]. The RHS is read as it
// lies, front to back: each worker takes a contiguous range of its rows (of K),
// multiplies them into a partial [M, N] sum of its own, eight RHS rows at a time
// where the kernels have an eight-row tile (else, and for the last rows, four):
// as many sequential streams. The partial sums are added at the end. Walking
// the RHS by columns instead (the small variant's tiles) jumps a row ahead at
// every step, which defeats the prefetcher and, for N a multiple of 1024, maps
// every step to the same cache sets.
func thinNonTransposedFloat32(backend *gobackend.Backend, workers int, kernels *ThinKernelsFloat32, lhs, rhs []float32, M, N, K int, output []float32) {
	chunks := max(1, min(workers, K/64))
	kPerChunk := (K/chunks + 7) &^ 7
	rows := (M + 3) &^ 3 // partial sums have whole groups of 4 rows
	partials := make([]*[]float32, chunks)
	parallel(backend, workers, chunks, func(i int) {
		p := thinPartials.Get().(*[]float32)
		if cap(*p) < rows*N {
			*p = make([]float32, rows*N)
		}
		*p = (*p)[:rows*N]
		clear(*p)
		coef := new([16]float32) // one per chunk: passed to a kernel through a function value, it escapes
		coef8 := new([32]float32)
		partials[i] = p
		k0, k1 := i*kPerChunk, min((i+1)*kPerChunk, K)
		for k := k0; k < k1; {
			if kernels.AccTile4x8 != nil && k+8 <= k1 {
				for row := 0; row < M; row += 4 {
					thinTile4x8Float32(kernels, coef8, lhs, rhs, M, N, K, *p, row, k)
				}
				k += 8
				continue
			}
			for row := 0; row < M; row += 4 {
				thinTile4x4Float32(kernels, coef, lhs, rhs, M, N, K, *p, row, k, min(k+4, k1))
			}
			k += 4
		}
	})
	copy(output[:M*N], (*partials[0])[:M*N])
	for _, p := range partials[1:] {
		addFloat32(output[:M*N], (*p)[:M*N])
	}
	for _, p := range partials {
		thinPartials.Put(p)
	}
}

var thinPartials = sync.Pool{New: func() any { return new([]float32) }}

// thinTile4x4Float32 adds lhs[row:row+4, k0:k1] × rhs[k0:k1, :] to acc (rows of N;
// rows from row), with k1-k0 ≤ 4 and a as the coefficients' scratch: LHS rows past
// M and RHS rows past k1 count with a zero coefficient. The loop is the kernel's, in assembly: compiled from Go
// with archsimd, the sixteen broadcast coefficients and the row pointers were
// reloaded from the stack at every step, at half the memory speed.
func thinTile4x4Float32(kernels *ThinKernelsFloat32, a *[16]float32, lhs, rhs []float32, M, N, K int, acc []float32, row, k0, k1 int) {
	*a = [16]float32{}
	for r := range min(4, M-row) {
		for j := range k1 - k0 {
			a[r*4+j] = lhs[(row+r)*K+k0+j]
		}
	}
	w0 := rhs[k0*N : k0*N+N]
	w1 := rhs[min(k0+1, k1-1)*N:][:N]
	w2 := rhs[min(k0+2, k1-1)*N:][:N]
	w3 := rhs[min(k0+3, k1-1)*N:][:N]
	a0 := acc[(row+0)*N : (row+0)*N+N]
	a1 := acc[(row+1)*N : (row+1)*N+N]
	a2 := acc[(row+2)*N : (row+2)*N+N]
	a3 := acc[(row+3)*N : (row+3)*N+N]
	vecs := N / 16
	if vecs > 0 {
		kernels.AccTile4x4(a, unsafe.Pointer(&w0[0]), unsafe.Pointer(&w1[0]), unsafe.Pointer(&w2[0]), unsafe.Pointer(&w3[0]),
			unsafe.Pointer(&a0[0]), unsafe.Pointer(&a1[0]), unsafe.Pointer(&a2[0]), unsafe.Pointer(&a3[0]), vecs)
	}
	for c := 16 * vecs; c < N; c++ {
		a0[c] += a[0]*w0[c] + a[1]*w1[c] + a[2]*w2[c] + a[3]*w3[c]
		a1[c] += a[4]*w0[c] + a[5]*w1[c] + a[6]*w2[c] + a[7]*w3[c]
		a2[c] += a[8]*w0[c] + a[9]*w1[c] + a[10]*w2[c] + a[11]*w3[c]
		a3[c] += a[12]*w0[c] + a[13]*w1[c] + a[14]*w2[c] + a[15]*w3[c]
	}
}

// thinTile4x8Float32 adds lhs[row:row+4, k0:k0+8] × rhs[k0:k0+8, :] to acc like
// thinTile4x4Float32, eight RHS rows per pass (kernels.AccTile4x8).
func thinTile4x8Float32(kernels *ThinKernelsFloat32, a *[32]float32, lhs, rhs []float32, M, N, K int, acc []float32, row, k0 int) {
	*a = [32]float32{}
	for r := range min(4, M-row) {
		copy(a[8*r:8*r+8], lhs[(row+r)*K+k0:(row+r)*K+k0+8])
	}
	w := rhs[k0*N : (k0+8)*N]
	a0 := acc[(row+0)*N : (row+0)*N+N]
	a1 := acc[(row+1)*N : (row+1)*N+N]
	a2 := acc[(row+2)*N : (row+2)*N+N]
	a3 := acc[(row+3)*N : (row+3)*N+N]
	vecs := N / 16
	kernels.AccTile4x8(a, unsafe.Pointer(&w[0]), N*4, unsafe.Pointer(&a0[0]), unsafe.Pointer(&a1[0]), unsafe.Pointer(&a2[0]), unsafe.Pointer(&a3[0]), vecs)
	for c := 16 * vecs; c < N; c++ {
		for r, o := range [4][]float32{a0, a1, a2, a3} {
			var s float32
			for j := range 8 {
				s += a[8*r+j] * w[j*N+c]
			}
			o[c] += s
		}
	}
}

// thinTransposedFloat32: output[:, colStart:colEnd] = lhs [M, K] × rhs [N, K]ᵀ for
// those columns (RHS rows), eight RHS rows at a time: each LHS row is multiplied by
// the eight rows (read from memory for the first LHS row, from cache after), so
// the RHS is read once, front to back, and one LHS row costs one multiply-add per
// RHS element (the small variant's 4×4 tiles would compute four).
func thinTransposedFloat32(kernels *ThinKernelsFloat32, lhs, rhs []float32, M, N, K int, output []float32, colStart, colEnd int) {
	var sums [8][16]float32
	vecs := K / 16
	col := colStart
	for ; col+8 <= colEnd; col += 8 {
		for row := range M {
			l := lhs[row*K : (row+1)*K]
			if vecs > 0 {
				kernels.Dot1x8(unsafe.Pointer(&l[0]), unsafe.Pointer(&rhs[col*K]), K*4, vecs, &sums)
			}
			for j := range 8 {
				var s float32
				for _, v := range sums[j] {
					s += v
				}
				r := rhs[(col+j)*K : (col+j+1)*K]
				for k := 16 * vecs; k < K; k++ {
					s += l[k] * r[k]
				}
				output[row*N+col+j] = s
			}
		}
	}
	for ; col < colEnd; col++ {
		r := rhs[col*K : (col+1)*K]
		for row := range M {
			var s float32
			for k, v := range lhs[row*K : (row+1)*K] {
				s += v * r[k]
			}
			output[row*N+col] = s
		}
	}
}

// addFloat32 adds src to dst.
func addFloat32(dst, src []float32) {
	for i, v := range src[:len(dst)] {
		dst[i] += v
	}
}
