package stfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := Write(path, []Tensor{Float32("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), Float32("b", []int{1}, []float32{-7})}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Float32("a", 6)
	if err != nil || a[5] != 6 || f.Metadata["k"] != "v" || len(f.Bytes("b")) != 4 {
		t.Errorf("read back %v %v %v", a, err, f.Metadata)
	}
	if _, err := f.Float32("a", 5); err == nil {
		t.Error("a wrong count must fail")
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-2], 0o644)
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("truncated file: %v", err)
	}
	short := Tensor{Name: "c", DType: "F32", Shape: []int{2}, Size: 8, Write: func(w io.Writer) error { _, err := w.Write(make([]byte, 4)); return err }}
	if err := Write(path+"2", []Tensor{short}, nil); err == nil || !strings.Contains(err.Error(), "header says 8") {
		t.Errorf("a tensor shorter than its header: %v", err)
	}
	if _, err := os.Stat(path + "2"); err == nil {
		t.Error("a failed write left a file")
	}
}
