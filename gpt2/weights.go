package gpt2

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/go-huggingface/hub"
	"github.com/gomlx/go-huggingface/models/safetensors"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/logitlens-go/logitlens/lm"
)

// WeightsFile is the only weights format Load reads.
const WeightsFile = lm.WeightsFile

// weightSpec is one entry of the name table: the Hugging Face tensor name (without
// the "transformer." prefix) and the shape the config implies. The store keeps the
// same name with "/" in place of ".", so the model code finds each weight in the
// scope named after it.
type weightSpec struct {
	name  string
	shape []int
}

// weightTable lists every tensor the model of cfg has, with Hugging Face's names
// (GPT-2's without the "transformer." prefix). A tied lm_head is absent: it is
// the token embedding matrix.
func weightTable(cfg *Config) []weightSpec {
	switch cfg.Family {
	case lm.FamilyLlama, lm.FamilyQwen2, lm.FamilyQwen3:
		return llamaWeights(cfg)
	case lm.FamilyNeoX:
		return neoxWeights(cfg)
	}
	return gpt2Weights(cfg)
}

// gpt2Weights are GPT2LMHeadModel's tensors, in file order.
func gpt2Weights(cfg *Config) []weightSpec {
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

// llamaWeights are LlamaForCausalLM's (and Qwen2's, Qwen3's) tensors: Linear
// weights are [out, in].
func llamaWeights(cfg *Config) []weightSpec {
	d, inner, hd := cfg.NEmbd, cfg.Inner(), cfg.HeadDim()
	q, kv := cfg.NHead*hd, cfg.KVHeads()*hd
	specs := []weightSpec{{"model.embed_tokens.weight", []int{cfg.VocabSize, d}}}
	for i := 0; i < cfg.NLayer; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		specs = append(specs,
			weightSpec{p + "input_layernorm.weight", []int{d}},
			weightSpec{p + "self_attn.q_proj.weight", []int{q, d}},
			weightSpec{p + "self_attn.k_proj.weight", []int{kv, d}},
			weightSpec{p + "self_attn.v_proj.weight", []int{kv, d}},
			weightSpec{p + "self_attn.o_proj.weight", []int{d, q}},
		)
		if cfg.AttnBias {
			specs = append(specs, weightSpec{p + "self_attn.q_proj.bias", []int{q}},
				weightSpec{p + "self_attn.k_proj.bias", []int{kv}}, weightSpec{p + "self_attn.v_proj.bias", []int{kv}})
		}
		if cfg.QKNorm {
			specs = append(specs, weightSpec{p + "self_attn.q_norm.weight", []int{hd}}, weightSpec{p + "self_attn.k_norm.weight", []int{hd}})
		}
		specs = append(specs,
			weightSpec{p + "post_attention_layernorm.weight", []int{d}},
			weightSpec{p + "mlp.gate_proj.weight", []int{inner, d}},
			weightSpec{p + "mlp.up_proj.weight", []int{inner, d}},
			weightSpec{p + "mlp.down_proj.weight", []int{d, inner}},
		)
	}
	specs = append(specs, weightSpec{"model.norm.weight", []int{d}})
	if !cfg.TiedEmbeddings {
		specs = append(specs, weightSpec{"lm_head.weight", []int{cfg.VocabSize, d}})
	}
	return specs
}

// neoxWeights are GPTNeoXForCausalLM's tensors (Pythia's).
func neoxWeights(cfg *Config) []weightSpec {
	d, inner := cfg.NEmbd, cfg.Inner()
	specs := []weightSpec{{"gpt_neox.embed_in.weight", []int{cfg.VocabSize, d}}}
	for i := 0; i < cfg.NLayer; i++ {
		p := fmt.Sprintf("gpt_neox.layers.%d.", i)
		specs = append(specs,
			weightSpec{p + "input_layernorm.weight", []int{d}},
			weightSpec{p + "input_layernorm.bias", []int{d}},
			weightSpec{p + "post_attention_layernorm.weight", []int{d}},
			weightSpec{p + "post_attention_layernorm.bias", []int{d}},
			weightSpec{p + "attention.query_key_value.weight", []int{3 * d, d}},
			weightSpec{p + "attention.query_key_value.bias", []int{3 * d}},
			weightSpec{p + "attention.dense.weight", []int{d, d}},
			weightSpec{p + "attention.dense.bias", []int{d}},
			weightSpec{p + "mlp.dense_h_to_4h.weight", []int{inner, d}},
			weightSpec{p + "mlp.dense_h_to_4h.bias", []int{inner}},
			weightSpec{p + "mlp.dense_4h_to_h.weight", []int{d, inner}},
			weightSpec{p + "mlp.dense_4h_to_h.bias", []int{d}},
		)
	}
	specs = append(specs, weightSpec{"gpt_neox.final_layer_norm.weight", []int{d}}, weightSpec{"gpt_neox.final_layer_norm.bias", []int{d}})
	if !cfg.TiedEmbeddings {
		specs = append(specs, weightSpec{"embed_out.weight", []int{cfg.VocabSize, d}})
	}
	return specs
}

// ignoredBuffer says whether a tensor of a checkpoint is a buffer some exporters
// keep (the causal mask, RoPE's inverse frequencies) rather than a weight.
func ignoredBuffer(name string) bool {
	for _, suffix := range []string{".attn.bias", ".attn.masked_bias", ".attention.bias", ".attention.masked_bias", ".rotary_emb.inv_freq"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// storePath maps a Hugging Face weight name to its variable path in the store.
func storePath(hfName string) string {
	return "/" + strings.ReplaceAll(hfName, ".", "/")
}

// loadWeights reads dir/model.safetensors into a new store, tensor by tensor,
// validating that every tensor the config needs is present with the right shape, a
// float dtype and finite values, and that the file holds nothing the config does not
// explain. On any error the tensors read so far are released: nothing is left
// half-loaded.
//
// Why not go-huggingface's TensorReader.ReadTensor: it copies each tensor out of a
// memory map of the whole file, so the file's pages count in the process's RSS next
// to the copy (gpt2-xl peaked at 12.2 GB for 6.2 GB of weights). Here each tensor is
// read with pread straight into its backend buffer: peak RSS is the weights once,
// and a warm page cache still makes a second process's load fast. The header is
// parsed by go-huggingface.
func loadWeights(backend compute.Backend, dir string, cfg *Config, opts weightOptions) (store *model.Store, err error) {
	ck, err := openCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer ck.close()
	names := ck.names
	path := ck.paths()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load weights %s: %s", path, fmt.Sprintf(format, args...))
	}
	specs := weightTable(cfg)
	if err := checkTensorNames(cfg, specs, names); err != nil {
		return nil, fail("%v", err)
	}

	store = model.NewStore()
	var loaded []*tensors.Tensor
	defer func() {
		if err != nil { // release what was read: no half-loaded model stays in memory
			for _, t := range loaded {
				t.FinalizeAll()
			}
			store = nil
		}
	}()
	for _, spec := range specs {
		fileName := names[spec.name]
		sh := ck.tensors[fileName]
		meta := sh.header.Tensors[fileName]
		dtype, ok := fileDTypes[strings.ToUpper(meta.Dtype)]
		if !ok {
			return nil, fail("tensor %s has dtype %s; GPT-2 weights must be F32, F16 or BF16", fileName, meta.Dtype)
		}
		if !equalInts(meta.Shape, spec.shape) {
			return nil, fail("tensor %s has shape %v, but config.json implies %v", fileName, meta.Shape, spec.shape)
		}
		if meta.DataOffsets[0] < 0 || meta.DataOffsets[1]-meta.DataOffsets[0] != int64(dtype.Size()*product(spec.shape)) {
			return nil, fail("tensor %s has data offsets %v, which do not hold %v %s values: the header is corrupt; delete the file and download again", fileName, meta.DataOffsets, spec.shape, meta.Dtype)
		}
		t, err := readTensor(backend, sh.file, sh.dataStart+meta.DataOffsets[0], dtype, spec.shape, opts.keepHalf)
		var bad *nonFiniteValue
		if errors.As(err, &bad) {
			return nil, fail("tensor %s holds %v of %d: the checkpoint is corrupt (a failed download or a diverged training run); download it again or point --model at a good checkpoint", fileName, bad, product(spec.shape))
		}
		if err != nil {
			return nil, fail("tensor %s: %v", fileName, err)
		}
		loaded = append(loaded, t)
		if _, err := store.CreateVariable(storePath(spec.name), t); err != nil {
			return nil, fail("store %s: %v", fileName, err)
		}
	}
	return store, nil
}

// shard is one safetensors file of a checkpoint, open, with its parsed header.
type shard struct {
	path      string
	file      *os.File
	header    *safetensors.Header
	dataStart int64
}

// checkpoint is a model's weights: model.safetensors, or the shards that
// model.safetensors.index.json names.
type checkpoint struct {
	shards  []*shard
	tensors map[string]*shard // file's tensor name → its shard
	names   map[string]string // name without "transformer." → file's name
}

// IndexFile names a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// openCheckpoint opens dir's weights: one file, or the shards of its index. Each
// shard's header is parsed and its size checked against it.
func openCheckpoint(dir string) (*checkpoint, error) {
	files := []string{WeightsFile}
	if _, err := os.Stat(filepath.Join(dir, WeightsFile)); err != nil {
		if files, err = shardFiles(dir); err != nil {
			return nil, err
		}
	}
	ck := &checkpoint{tensors: map[string]*shard{}, names: map[string]string{}}
	for _, f := range files {
		sh, err := openShard(dir, f)
		if err != nil {
			ck.close()
			return nil, err
		}
		ck.shards = append(ck.shards, sh)
		for name := range sh.header.Tensors {
			if prev, dup := ck.tensors[name]; dup {
				ck.close()
				return nil, fmt.Errorf("load weights: tensor %s is in both %s and %s: the checkpoint is inconsistent", name, prev.path, sh.path)
			}
			ck.tensors[name] = sh
			ck.names[strings.TrimPrefix(name, "transformer.")] = name
		}
	}
	return ck, nil
}

// shardFiles reads model.safetensors.index.json: the shard files, in order.
func shardFiles(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, fmt.Errorf("load weights: the model folder has neither %s nor %s (only safetensors weights are read)", WeightsFile, IndexFile)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil || len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("load weights: %s is not an index of shards (%v): download it again", IndexFile, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range index.WeightMap {
		if !seen[f] {
			if f != filepath.Base(f) || !strings.HasSuffix(f, ".safetensors") {
				return nil, fmt.Errorf("load weights: %s names the shard %q: want a .safetensors file in the same folder", IndexFile, f)
			}
			seen[f] = true
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, nil
}

// openShard opens one safetensors file of dir and checks it holds the data its
// header describes.
func openShard(dir, name string) (*shard, error) {
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w (the model folder needs %s; only safetensors weights are read)", err, name)
	}
	reader, err := safetensors.NewEmpty(hub.NewLocal(dir)).NewTensorReader(name)
	if err != nil {
		return nil, fmt.Errorf("load weights %s: %v (is the file complete? delete it and download again)", path, err)
	}
	header := reader.Header
	reader.Close() // only its parsed header is used
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load weights %s: %v", path, err)
	}
	start, err := dataSectionStart(file)
	if err != nil {
		err = fmt.Errorf("%v (is the file complete? delete it and download again)", err)
	} else if end := start + dataSectionSize(header); end > info.Size() {
		err = fmt.Errorf("the header describes %d bytes of tensor data but the file has only %d bytes: it is truncated; delete it and download again", end-start, info.Size()-start)
	}
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("load weights %s: %v", path, err)
	}
	return &shard{path: path, file: file, header: header, dataStart: start}, nil
}

func (ck *checkpoint) close() {
	for _, sh := range ck.shards {
		sh.file.Close()
	}
}

// paths names the checkpoint in messages: its file, or its first shard and how many there are.
func (ck *checkpoint) paths() string {
	if len(ck.shards) == 1 {
		return ck.shards[0].path
	}
	return fmt.Sprintf("%s (1 of %d shards)", ck.shards[0].path, len(ck.shards))
}

// fileDTypes are the safetensors dtypes GPT-2 weights may have.
var fileDTypes = map[string]dtypes.DType{"F32": dtypes.Float32, "F16": dtypes.Float16, "BF16": dtypes.BFloat16}

// weightOptions are the parts of LoadOptions that decide how weights are held.
type weightOptions struct {
	keepHalf bool
}

// checkTensorNames fails for a tensor the file lacks and for one the config does not
// explain (a deeper or differently shaped model, or another architecture), naming a
// few of them. Buffers some exporters keep (attn.bias, attn.masked_bias: the causal
// mask) and an explicit lm_head.weight (tied to wte) are accepted and not read.
func checkTensorNames(cfg *Config, specs []weightSpec, names map[string]string) error {
	want := make(map[string]bool, len(specs))
	var missing, extra []string
	for _, spec := range specs {
		want[spec.name] = true
		if _, ok := names[spec.name]; !ok {
			missing = append(missing, spec.name)
		}
	}
	for name := range names {
		if want[name] || (cfg.TiedEmbeddings && (name == "lm_head.weight" || name == "embed_out.weight")) || ignoredBuffer(name) {
			continue
		}
		extra = append(extra, names[name])
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing tensors %s: this is not a %s checkpoint matching config.json", listSome(missing), lm.FamilyName(cfg.Family))
	}
	if len(extra) > 0 {
		blocks := 0
		for _, name := range extra {
			var i int
			if _, err := fmt.Sscanf(layerName(name), "h.%d.", &i); err == nil {
				blocks = max(blocks, i+1)
			}
		}
		if blocks > cfg.NLayer {
			return fmt.Errorf("the file has tensors for %d blocks but config.json says n_layer=%d (%s): config.json and model.safetensors come from different models; download both again", blocks, cfg.NLayer, listSome(extra))
		}
		return fmt.Errorf("the file has tensors %s does not use: %s: this is not a %s checkpoint matching config.json", lm.FamilyName(cfg.Family), listSome(extra), lm.FamilyName(cfg.Family))
	}
	return nil
}

// layerName rewrites a block's tensor name to GPT-2's "h.{i}." form, whatever the family.
func layerName(name string) string {
	name = strings.TrimPrefix(name, "transformer.")
	for _, p := range []string{"model.layers.", "gpt_neox.layers."} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return "h." + rest
		}
	}
	return name
}

// listSome joins up to five names, sorted, and says how many more there are.
func listSome(names []string) string {
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5:5], fmt.Sprintf("… %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}

// dataSectionStart is where tensor data begins: after the 8-byte little-endian
// header length and the header itself.
func dataSectionStart(f *os.File) (int64, error) {
	var n [8]byte
	if _, err := f.ReadAt(n[:], 0); err != nil {
		return 0, fmt.Errorf("read header length: %w", err)
	}
	return 8 + int64(binary.LittleEndian.Uint64(n[:])), nil
}

// dataSectionSize is the largest end offset in the header: a lower bound on the
// size of the data section.
func dataSectionSize(h *safetensors.Header) int64 {
	var end int64
	for _, m := range h.Tensors {
		if m.DataOffsets[1] > end {
			end = m.DataOffsets[1]
		}
	}
	return end
}

// readTensor reads one tensor's values at offset into a new tensor on the backend:
// F32, or with keepHalf the file's own half-precision dtype. It fails with the
// element's index for a NaN or ±Inf.
//
// On a backend with shared buffers (the pure-Go one) the bytes go straight into the
// buffer the graphs will read, with no zero-filling first (which cost half the load
// time of gpt2-medium) and the check done on each piece while it is in cache;
// elsewhere they go through one host tensor, which is moved to the device and freed.
func readTensor(backend compute.Backend, f *os.File, offset int64, fileDType dtypes.DType, dims []int, keepHalf bool) (*tensors.Tensor, error) {
	target := dtypes.Float32
	if keepHalf {
		target = fileDType
	}
	shape := shapes.Make(target, dims...)
	if backend.HasSharedBuffers() {
		buf, flat, err := backend.NewSharedBuffer(0, shape)
		if err != nil {
			return nil, err
		}
		if err := fillTensor(f, offset, fileDType, flat); err != nil {
			buf.Finalize()
			return nil, err
		}
		return tensors.FromBuffer(buf)
	}
	t := tensors.FromShape(shape)
	var err error
	t.MustMutableFlatData(func(flat any) { err = fillTensor(f, offset, fileDType, flat) })
	if err == nil {
		err = t.ToDevice(backend, 0)
	}
	if err != nil {
		t.FinalizeAll()
		return nil, err
	}
	return t, nil
}

// fillTensor reads len(out) values of dtype at offset into out ([]float32, or
// []float16.Float16 / []bfloat16.BFloat16 when dtype is the same half type),
// widening half-precision values to float32 where out is float32, and checks every
// value for NaN and ±Inf. The work is split into 1 MiB pieces spread over the
// cores: each piece is read with pread and checked while it is in cache.
func fillTensor(f *os.File, offset int64, dtype dtypes.DType, out any) error {
	const piece = 1 << 20 // bytes per read
	var dst []byte        // out's bytes
	n := 0                // values
	switch x := out.(type) {
	case []float32:
		n, dst = len(x), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
	case []float16.Float16:
		n, dst = len(x), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 2*len(x))
	case []bfloat16.BFloat16:
		n, dst = len(x), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 2*len(x))
	default:
		return fmt.Errorf("internal: cannot read into %T", out)
	}
	width := dtype.Size()
	widen := width == 2 && len(dst) == 4*n
	perPiece := piece / width
	pieces := (n + perPiece - 1) / perPiece
	errs := make([]error, pieces)
	workers := min(runtime.GOMAXPROCS(0), pieces)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var raw []byte
			if widen {
				raw = make([]byte, piece)
			}
			for p := w; p < pieces; p += workers {
				start := p * perPiece
				count := min(perPiece, n-start)
				chunk := dst[start*width : (start+count)*width] // read in place …
				if widen {
					chunk = raw[:2*count] // … or into raw, then widened
				}
				if err := readFull(f, chunk, offset+int64(start*width)); err != nil {
					errs[p] = err
					return
				}
				if i := nonFinite(chunk, dtype); i >= 0 {
					errs[p] = nonFiniteAt(chunk, dtype, i, start)
					return
				}
				if widen {
					widenHalf(chunk, dtype, unsafe.Slice((*float32)(unsafe.Pointer(&dst[4*start])), count))
				}
			}
		})
	}
	wg.Wait()
	return firstError(errs)
}

// firstError is the first non-nil error, or nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// widenHalf converts little-endian F16 or BF16 values in raw into out.
func widenHalf(raw []byte, dtype dtypes.DType, out []float32) {
	for i := range out {
		bits := binary.LittleEndian.Uint16(raw[2*i:])
		if dtype == dtypes.BFloat16 {
			out[i] = bfloat16.FromBits(bits).Float32()
		} else {
			out[i] = float16.FromBits(bits).Float32()
		}
	}
}

// readFull fills buf from f at offset, or says why it could not.
func readFull(f *os.File, buf []byte, offset int64) error {
	n, err := f.ReadAt(buf, offset)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("the file ends %d bytes into a %d-byte read: it is truncated; delete it and download again", n, len(buf))
	}
	return fmt.Errorf("read: %w", err)
}

// nonFinite returns the index of the first NaN or ±Inf among the little-endian
// values of dtype in b, or -1: a float is NaN or ±Inf exactly when its exponent
// bits are all set.
func nonFinite(b []byte, dtype dtypes.DType) int {
	if dtype == dtypes.Float32 {
		const exponent = 0x7f800000
		for i, x := range unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4) {
			if x&exponent == exponent {
				return i
			}
		}
		return -1
	}
	exponent := uint16(0x7c00) // F16
	if dtype == dtypes.BFloat16 {
		exponent = 0x7f80
	}
	for i, x := range unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2) {
		if x&exponent == exponent {
			return i
		}
	}
	return -1
}

// nonFiniteValue is a NaN or ±Inf found at load: Index counts values from the
// start of the tensor.
type nonFiniteValue struct {
	Index int
	NaN   bool
}

func (e *nonFiniteValue) Error() string {
	what := "an infinite value"
	if e.NaN {
		what = "NaN"
	}
	return fmt.Sprintf("%s at element %d", what, e.Index)
}

// nonFiniteAt describes the value at index i of b (values of dtype), start being
// b's first index in the tensor.
func nonFiniteAt(b []byte, dtype dtypes.DType, i, start int) error {
	if dtype == dtypes.Float32 {
		bits := binary.LittleEndian.Uint32(b[4*i:])
		return &nonFiniteValue{Index: start + i, NaN: bits&0x007fffff != 0}
	}
	bits := binary.LittleEndian.Uint16(b[2*i:])
	mantissa := uint16(0x03ff) // F16
	if dtype == dtypes.BFloat16 {
		mantissa = 0x007f
	}
	return &nonFiniteValue{Index: start + i, NaN: bits&mantissa != 0}
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
