package lm

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes/float16"
)

// Every half-precision bit pattern widens as GoMLX's float16 does (the engine's
// loader uses it): normal, subnormal, zero, Inf and NaN.
func TestHalfToFloat32(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got, want := halfToFloat32(uint16(h)), float16.FromBits(uint16(h)).Float32()
		if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			t.Fatalf("0x%04x: %g, want %g", h, got, want)
		}
	}
}
