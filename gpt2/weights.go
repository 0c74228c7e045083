package gpt2

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/go-huggingface/hub"
	"github.com/gomlx/go-huggingface/models/safetensors"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// WeightsFile is the only weights format Load reads.
const WeightsFile = "model.safetensors"

// weightSpec is one entry of the name table: the Hugging Face tensor name (without
// the "transformer." prefix) and the shape the config implies. The store keeps the
// same name with "/" in place of ".", so the model code finds each weight in the
// scope named after it.
type weightSpec struct {
	name  string
	shape []int
}

// weightTable lists every tensor GPT2LMHeadModel has for cfg, in file order.
// lm_head.weight is absent: it is tied to wte.weight.
func weightTable(cfg *Config) []weightSpec {
	d, inner := cfg.NEmbd, cfg.Inner()
	specs := []weightSpec{
		{"wte.weight", []int{cfg.VocabSize, d}},
		{"wpe.weight", []int{cfg.NPositions, d}},
	}
	for i := 0; i < cfg.NLayer; i++ {
		p := fmt.Sprintf("h.%d.", i)
		specs = append(specs,
			weightSpec{p + "ln_1.weight", []int{d}},
			weightSpec{p + "ln_1.bias", []int{d}},
			weightSpec{p + "attn.c_attn.weight", []int{d, 3 * d}},
			weightSpec{p + "attn.c_attn.bias", []int{3 * d}},
			weightSpec{p + "attn.c_proj.weight", []int{d, d}},
			weightSpec{p + "attn.c_proj.bias", []int{d}},
			weightSpec{p + "ln_2.weight", []int{d}},
			weightSpec{p + "ln_2.bias", []int{d}},
			weightSpec{p + "mlp.c_fc.weight", []int{d, inner}},
			weightSpec{p + "mlp.c_fc.bias", []int{inner}},
			weightSpec{p + "mlp.c_proj.weight", []int{inner, d}},
			weightSpec{p + "mlp.c_proj.bias", []int{d}},
		)
	}
	return append(specs, weightSpec{"ln_f.weight", []int{d}}, weightSpec{"ln_f.bias", []int{d}})
}

// storePath maps a Hugging Face weight name to its variable path in the store.
func storePath(hfName string) string {
	return "/" + strings.ReplaceAll(hfName, ".", "/")
}

// loadWeights reads dir/model.safetensors into a new store, validating that every
// tensor the config needs is present with the right shape and a float dtype.
func loadWeights(backend compute.Backend, dir string, cfg *Config) (*model.Store, error) {
	path := filepath.Join(dir, WeightsFile)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load weights %s: %s", path, fmt.Sprintf(format, args...))
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w (the model folder needs %s; only safetensors weights are read)", err, WeightsFile)
	}
	st := safetensors.NewEmpty(hub.NewLocal(dir))
	reader, err := st.NewTensorReader(WeightsFile)
	if err != nil {
		return nil, fail("%v (is the file complete? delete it and download again)", err)
	}
	defer reader.Close()

	// Resolve names: with or without the "transformer." prefix.
	names := make(map[string]string, len(reader.Header.Tensors))
	for fileName := range reader.Header.Tensors {
		names[strings.TrimPrefix(fileName, "transformer.")] = fileName
	}
	if end := dataSectionSize(reader); end > info.Size() {
		return nil, fail("the header describes %d bytes of tensor data but the file has only %d bytes: it is truncated; delete it and download again", end, info.Size())
	}

	store := model.NewStore()
	var missing []string
	specs := weightTable(cfg)
	for _, spec := range specs {
		if _, ok := names[spec.name]; !ok {
			missing = append(missing, spec.name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("… %d more", len(missing)-5))
		}
		return nil, fail("missing tensors %s: this is not a GPT-2 checkpoint matching config.json", strings.Join(missing, ", "))
	}
	for _, spec := range specs {
		fileName := names[spec.name]
		meta := reader.Header.Tensors[fileName]
		dtype := strings.ToUpper(meta.Dtype)
		if dtype != "F32" && dtype != "F16" && dtype != "BF16" {
			return nil, fail("tensor %s has dtype %s; GPT-2 weights must be F32, F16 or BF16", fileName, meta.Dtype)
		}
		if !equalInts(meta.Shape, spec.shape) {
			return nil, fail("tensor %s has shape %v, but config.json implies %v", fileName, meta.Shape, spec.shape)
		}
		if meta.DataOffsets[0] < 0 || meta.DataOffsets[1] < meta.DataOffsets[0] {
			return nil, fail("tensor %s has invalid data offsets %v", fileName, meta.DataOffsets)
		}
		t, err := reader.ReadTensor(backend, fileName)
		if err != nil {
			return nil, fail("tensor %s: %v (the file looks truncated or corrupt: delete it and download again)", fileName, err)
		}
		if t.DType() != dtypes.Float32 {
			if t, err = toFloat32(backend, t); err != nil {
				return nil, fail("convert %s from %s to F32: %v", fileName, meta.Dtype, err)
			}
		}
		if _, err := store.CreateVariable(storePath(spec.name), t); err != nil {
			return nil, fail("store %s: %v", fileName, err)
		}
	}
	return store, nil
}

// dataSectionSize is the largest end offset in the header: a lower bound on the
// size of the data section.
func dataSectionSize(r *safetensors.TensorReader) int64 {
	var end int64
	for _, m := range r.Header.Tensors {
		if m.DataOffsets[1] > end {
			end = m.DataOffsets[1]
		}
	}
	return end
}

// toFloat32 converts a half-precision weight with a one-op graph on the backend.
func toFloat32(backend compute.Backend, t *tensors.Tensor) (*tensors.Tensor, error) {
	exec, err := NewExec(backend, func(x *Node) *Node { return ConvertDType(x, dtypes.Float32) })
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out, err := exec.Call(t)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
