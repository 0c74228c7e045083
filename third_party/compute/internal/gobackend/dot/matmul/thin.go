// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package matmul

import "github.com/gomlx/compute/support/envutil"

// ThinLHSMaxRows is the most LHS rows a product may have to take the thin path
// (see IsThin); 0 turns the path off. Environment variable GOMLX_GO_THIN_ROWS
// sets it.
var ThinLHSMaxRows = 16

func init() {
	ThinLHSMaxRows = envutil.MustReadInt(envutil.GoBackendThinRows, ThinLHSMaxRows)
}

// IsThin reports whether a product should take the thin path: one batch item, at
// most ThinLHSMaxRows LHS rows, and an RHS of at least ThinMinRHSSize elements. The large
// variant packs the whole RHS before it multiplies, which for so few rows reads
// and writes the RHS twice more than the product itself reads it (a generation
// step of a language model multiplies a few rows by every weight matrix); the thin
// path streams the RHS once in its stored layout, split among the workers by
// columns.
func IsThin(batchSize, lhsCrossSize, rhsCrossSize, contractingSize int) bool {
	return !ForceLargeVariant && !ForceSmallVariant && batchSize == 1 &&
		lhsCrossSize > 0 && lhsCrossSize <= ThinLHSMaxRows &&
		rhsCrossSize*contractingSize >= ThinMinRHSSize
}

// ThinMinRHSSize is the fewest RHS elements for the thin path: below it, the RHS
// is cheap to read on one core and the small variant is as fast.
var ThinMinRHSSize = 256 * 1024
