// Package stfile writes and reads the safetensors files this project makes itself
// (a model's weights, training checkpoints, tuned-lens translators): an 8-byte
// header length, a JSON header with each tensor's dtype, shape and byte offsets
// (and string metadata), then the raw little-endian tensors. go-huggingface reads
// the format but has no writer; the model loader (gpt2/weights.go) keeps using
// go-huggingface's header parser and its own pread loop for the big files.
package stfile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/logitlens-go/logitlens/internal/atomicfile"
)

// Tensor is one tensor to write: Size bytes of DType ("F32", "F16", "BF16", "I64",
// "I32") values of Shape, produced by Write.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Size  int64
	Write func(w io.Writer) error
}

// Float32 is a Tensor of float32 values.
func Float32(name string, shape []int, vals []float32) Tensor {
	return Tensor{Name: name, DType: "F32", Shape: shape, Size: int64(4 * len(vals)), Write: func(w io.Writer) error {
		return binary.Write(w, binary.LittleEndian, vals)
	}}
}

// Write replaces path atomically with ts (in that order) and metadata.
func Write(path string, ts []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, t := range ts {
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": t.Shape, "data_offsets": []int64{offset, offset + t.Size}}
		offset += t.Size
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hdr)%8 != 0 { // the format pads the header to 8 bytes with spaces
		hdr = append(hdr, ' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if err := binary.Write(w, binary.LittleEndian, uint64(len(hdr))); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		for _, t := range ts {
			cw := &countingWriter{w: w}
			if err := t.Write(cw); err != nil {
				return fmt.Errorf("tensor %s: %w", t.Name, err)
			}
			if cw.n != t.Size {
				return fmt.Errorf("tensor %s: wrote %d bytes, its header says %d", t.Name, cw.n, t.Size)
			}
		}
		return nil
	})
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Info is a tensor's entry in the header.
type Info struct {
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// File is a safetensors file read into memory.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Info
	body     []byte
}

// Read reads and checks path: every tensor's bytes lie inside the file.
func Read(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, fmt.Errorf("%s is %d bytes: not a safetensors file", path, len(raw))
	}
	n := binary.LittleEndian.Uint64(raw)
	if n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("%s: the header runs past the end of the file: it is truncated", path)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		return nil, fmt.Errorf("%s: the header is not JSON: %v", path, err)
	}
	f := &File{Tensors: map[string]Info{}, body: raw[8+n:]}
	for name, entry := range header {
		if name == "__metadata__" {
			if err := json.Unmarshal(entry, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%s: bad metadata: %v", path, err)
			}
			continue
		}
		var info Info
		if err := json.Unmarshal(entry, &info); err != nil || len(info.Offsets) != 2 {
			return nil, fmt.Errorf("%s: tensor %s: bad header entry", path, name)
		}
		if lo, hi := info.Offsets[0], info.Offsets[1]; lo < 0 || hi < lo || hi > int64(len(f.body)) {
			return nil, fmt.Errorf("%s: tensor %s: offsets %v lie outside the file: it is damaged", path, name, info.Offsets)
		}
		f.Tensors[name] = info
	}
	return f, nil
}

// Bytes returns the raw bytes of tensor name (nil if absent).
func (f *File) Bytes(name string) []byte {
	info, ok := f.Tensors[name]
	if !ok {
		return nil
	}
	return f.body[info.Offsets[0]:info.Offsets[1]]
}

// Float32 returns tensor name's values, which must be F32 and n of them.
func (f *File) Float32(name string, n int) ([]float32, error) {
	info, ok := f.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	b := f.Bytes(name)
	if info.DType != "F32" || len(b) != 4*n {
		return nil, fmt.Errorf("tensor %s is %s with %d bytes, want %d F32 values", name, info.DType, len(b), n)
	}
	vals := make([]float32, n)
	if _, err := binary.Decode(b, binary.LittleEndian, vals); err != nil {
		return nil, err
	}
	return vals, nil
}
