package gpt2

import "fmt"

// Array is a dense float32 tensor held in Go memory, row-major. Activations and
// logits come back from the model as Arrays so notebooks can index them directly.
type Array struct {
	Shape []int
	Data  []float32
}

// NewArray returns a zero Array of the given shape.
func NewArray(shape ...int) *Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Array{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Size is the number of elements.
func (a *Array) Size() int { return len(a.Data) }

// offset converts an index to a flat offset, checking bounds.
func (a *Array) offset(idx ...int) int {
	if len(idx) != len(a.Shape) {
		panic(fmt.Sprintf("gpt2.Array: %d indices for a rank-%d array %v", len(idx), len(a.Shape), a.Shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("gpt2.Array: index %d out of range [0,%d) on axis %d", x, a.Shape[i], i))
		}
		off = off*a.Shape[i] + x
	}
	return off
}

// At returns the element at idx.
func (a *Array) At(idx ...int) float32 { return a.Data[a.offset(idx...)] }

// Row returns the last-axis vector at the leading indices idx (a view, not a copy).
func (a *Array) Row(idx ...int) []float32 {
	if len(idx) != len(a.Shape)-1 {
		panic(fmt.Sprintf("gpt2.Array.Row: need %d leading indices for shape %v, got %d", len(a.Shape)-1, a.Shape, len(idx)))
	}
	last := a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("gpt2.Array.Row: index %d out of range [0,%d) on axis %d", x, a.Shape[i], i))
		}
		off = off*a.Shape[i] + x
	}
	return a.Data[off*last : (off+1)*last]
}

// Sub returns the sub-array at the leading index i (a view sharing Data).
func (a *Array) Sub(i int) *Array {
	if len(a.Shape) < 2 || i < 0 || i >= a.Shape[0] {
		panic(fmt.Sprintf("gpt2.Array.Sub: index %d invalid for shape %v", i, a.Shape))
	}
	n := len(a.Data) / a.Shape[0]
	return &Array{Shape: append([]int(nil), a.Shape[1:]...), Data: a.Data[i*n : (i+1)*n]}
}

func (a *Array) String() string { return fmt.Sprintf("Array%v", a.Shape) }
