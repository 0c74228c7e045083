package exercises

import (
	"math"
	"strings"
	"testing"
)

// TestCheckSoftmax: a right softmax passes; each usual mistake gets its own hint.
func TestCheckSoftmax(t *testing.T) {
	m, _ := tiny(t)
	right := func(z []float32) []float64 { return exactSoftmax(z) }
	naive := func(z []float32) []float64 { // no max subtracted
		out, sum := make([]float64, len(z)), 0.0
		for i, v := range z {
			out[i] = math.Exp(float64(v))
			sum += out[i]
		}
		for i := range out {
			out[i] /= sum
		}
		return out
	}
	single := func(z []float32) []float64 { // float32 arithmetic
		mx := z[0]
		for _, v := range z {
			mx = max(mx, v)
		}
		out, sum := make([]float64, len(z)), float32(0)
		e := make([]float32, len(z))
		for i, v := range z {
			e[i] = float32(math.Exp(float64(v - mx)))
			sum += e[i]
		}
		for i := range out {
			out[i] = float64(e[i] / sum)
		}
		return out
	}
	short := func(z []float32) []float64 { return nil }
	for _, c := range []struct {
		name string
		f    SoftmaxFunc
		ok   bool
		want string
	}{
		{"right", right, true, "✓ Верно!"},
		{"no max subtracted", naive, false, "Вычтите из всех логитов наибольший"},
		{"float32", single, false, "Считайте в float64"},
		{"nothing returned", short, false, "нужна вероятность для каждого"},
	} {
		var ok bool
		got := capture(func() { ok = CheckSoftmax(c.f, m) })
		if ok != c.ok || !strings.Contains(got, c.want) {
			t.Errorf("%s: ok %t, printed %q; want %t and %q", c.name, ok, got, c.ok, c.want)
		}
	}
}
