package lm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

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
		panic(fmt.Sprintf("lm.Array: %d indices for a rank-%d array %v", len(idx), len(a.Shape), a.Shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("lm.Array: index %d out of range [0,%d) on axis %d", x, a.Shape[i], i))
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
		panic(fmt.Sprintf("lm.Array.Row: need %d leading indices for shape %v, got %d", len(a.Shape)-1, a.Shape, len(idx)))
	}
	last := a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("lm.Array.Row: index %d out of range [0,%d) on axis %d", x, a.Shape[i], i))
		}
		off = off*a.Shape[i] + x
	}
	return a.Data[off*last : (off+1)*last]
}

// Sub returns the sub-array at the leading index i (a view sharing Data).
func (a *Array) Sub(i int) *Array {
	if len(a.Shape) < 2 || i < 0 || i >= a.Shape[0] {
		panic(fmt.Sprintf("lm.Array.Sub: index %d invalid for shape %v", i, a.Shape))
	}
	n := len(a.Data) / a.Shape[0]
	return &Array{Shape: append([]int(nil), a.Shape[1:]...), Data: a.Data[i*n : (i+1)*n]}
}

func (a *Array) String() string { return fmt.Sprintf("Array%v", a.Shape) }

// GobEncode writes an Array as its shape and raw little-endian float32s: gob's
// own encoding of a []float32 goes value by value, several times slower for the
// megabytes a lens or a weight matrix holds.
func (a *Array) GobEncode() ([]byte, error) {
	out := make([]byte, 8+8*len(a.Shape)+4*len(a.Data)) // one allocation: it may be the whole lm_head
	binary.LittleEndian.PutUint64(out, uint64(len(a.Shape)))
	at := 8
	for _, d := range a.Shape {
		binary.LittleEndian.PutUint64(out[at:], uint64(d))
		at += 8
	}
	for _, v := range a.Data {
		binary.LittleEndian.PutUint32(out[at:], math.Float32bits(v))
		at += 4
	}
	return out, nil
}

// GobDecode reads what GobEncode wrote.
func (a *Array) GobDecode(data []byte) error {
	bad := errors.New("array: malformed encoding")
	if len(data) < 8 {
		return bad
	}
	rank := binary.LittleEndian.Uint64(data)
	data = data[8:]
	if rank > 16 || uint64(len(data)) < 8*rank {
		return bad
	}
	a.Shape = make([]int, rank)
	n := 1
	for i := range a.Shape {
		d := int64(binary.LittleEndian.Uint64(data[8*i:]))
		if d < 0 || d > math.MaxInt32 {
			return bad
		}
		a.Shape[i] = int(d)
		n *= int(d)
	}
	data = data[8*rank:]
	if len(data) != 4*n {
		return bad
	}
	a.Data = make([]float32, n)
	for i := range a.Data {
		a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return nil
}
