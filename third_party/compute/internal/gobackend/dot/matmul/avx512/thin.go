// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build amd64 && goexperiment.simd

package avx512

import (
	"unsafe"

	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/dot"
	"github.com/gomlx/compute/internal/gobackend/dot/matmul"
)

// avx512ThinFloat32 takes products with a few LHS rows by the thin path
// (matmul.ThinFloat32) with this package's kernels, and reports whether it did.
func avx512ThinFloat32(backend *gobackend.Backend, layout dot.Layout, lhs, rhs []float32,
	batchSize, lhsCrossSize, rhsCrossSize, contractingSize int, output []float32) bool {
	return matmul.ThinFloat32(backend, layout, lhs, rhs, batchSize, lhsCrossSize, rhsCrossSize, contractingSize, output, &thinKernels)
}

var thinKernels = matmul.ThinKernelsFloat32{AccTile4x4: thinAccTile4x4Float32Asm, Dot1x8: thinDot1x8Float32Asm}

func init() {
	if matmul.ThinWideTiles {
		thinKernels.AccTile4x8 = thinAccTile4x8Float32Asm
	}
}

// thinAccTile4x8Float32Asm: see matmul.ThinKernelsFloat32.AccTile4x8 (thin_amd64.s).
//
//go:noescape
func thinAccTile4x8Float32Asm(coef *[32]float32, w unsafe.Pointer, wRowBytes int, a0, a1, a2, a3 unsafe.Pointer, vecs int)

// thinAccTile4x4Float32Asm: see matmul.ThinKernelsFloat32.AccTile4x4 (thin_amd64.s).
//
//go:noescape
func thinAccTile4x4Float32Asm(coef *[16]float32, w0, w1, w2, w3, a0, a1, a2, a3 unsafe.Pointer, vecs int)

// thinDot1x8Float32Asm: see matmul.ThinKernelsFloat32.Dot1x8 (thin_amd64.s).
//
//go:noescape
func thinDot1x8Float32Asm(lhs, rhs unsafe.Pointer, rhsRowBytes, vecs int, sums *[8][16]float32)
