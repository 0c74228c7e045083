package lm

// Reading one weight straight from a model folder's safetensors file, in pure Go:
// a notebook cell that multiplies lm_head by a state itself reads the matrix from
// the file (a few hundred milliseconds for GPT-2's 154 MB) rather than through a
// model server's socket, and links no engine to do it.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// WeightsFile is the weights' file in a model folder.
const WeightsFile = "model.safetensors"

// ReadWeight returns the weight name ("wte.weight", "h.0.ln_1.bias", …, with or
// without the checkpoint's "transformer." prefix) from dir's model.safetensors as
// float32 (F16 and BF16 widened).
func ReadWeight(dir, name string) (*Array, error) {
	path := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(path); err != nil {
		if shard, ok := shardOf(dir, name); ok { // a sharded checkpoint
			path = filepath.Join(dir, shard)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read weight %s: %w", name, err)
	}
	defer f.Close()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("read weight %s from %s: %s", name, path, fmt.Sprintf(format, args...))
	}
	var size [8]byte
	if _, err := io.ReadFull(f, size[:]); err != nil {
		return nil, fail("no safetensors header (%v)", err)
	}
	n := binary.LittleEndian.Uint64(size[:])
	if n > 100<<20 {
		return nil, fail("a header of %d bytes: not a safetensors file", n)
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fail("truncated header (%v)", err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(head, &entries); err != nil {
		return nil, fail("header: %v", err)
	}
	raw, ok := entries[name]
	if !ok {
		raw, ok = entries["transformer."+strings.TrimPrefix(name, "transformer.")]
	}
	if !ok {
		raw, ok = entries[strings.TrimPrefix(name, "transformer.")]
	}
	if !ok {
		return nil, fail("no such tensor")
	}
	var t struct {
		Dtype       string   `json:"dtype"`
		Shape       []int    `json:"shape"`
		DataOffsets [2]int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fail("header entry: %v", err)
	}
	count := 1
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fail("negative dimension in %v", t.Shape)
		}
		count *= d
	}
	width := map[string]int{"F32": 4, "F16": 2, "BF16": 2}[strings.ToUpper(t.Dtype)]
	if width == 0 {
		return nil, fail("dtype %s (want F32, F16 or BF16)", t.Dtype)
	}
	if t.DataOffsets[0] < 0 || t.DataOffsets[1]-t.DataOffsets[0] != int64(width*count) {
		return nil, fail("data offsets %v do not hold %v %s values", t.DataOffsets, t.Shape, t.Dtype)
	}
	buf := make([]byte, width*count)
	if _, err := f.ReadAt(buf, 8+int64(n)+t.DataOffsets[0]); err != nil {
		return nil, fail("%v (is the file complete?)", err)
	}
	out := &Array{Shape: append([]int(nil), t.Shape...), Data: make([]float32, count)}
	for i := range out.Data {
		switch strings.ToUpper(t.Dtype) {
		case "F32":
			out.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		case "F16":
			out.Data[i] = halfToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
		default:
			out.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(buf[2*i:])) << 16)
		}
	}
	return out, nil
}

// halfToFloat32 widens an IEEE 754 half-precision value (written here: the
// packages that do it link GoMLX's compute library).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// shardOf finds the shard holding name in dir's model.safetensors.index.json.
func shardOf(dir, name string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
	if err != nil {
		return "", false
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if json.Unmarshal(data, &index) != nil {
		return "", false
	}
	for _, n := range []string{name, "transformer." + strings.TrimPrefix(name, "transformer."), strings.TrimPrefix(name, "transformer.")} {
		if f, ok := index.WeightMap[n]; ok {
			return filepath.Base(f), true
		}
	}
	return "", false
}
