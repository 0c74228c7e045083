package gpt2

// Writing models and training checkpoints as safetensors (internal/stfile: written
// atomically, a reader sees the old file or the new one).

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/logitlens-go/logitlens/internal/atomicfile"
	"github.com/logitlens-go/logitlens/internal/stfile"
	"github.com/logitlens-go/logitlens/lm"
)

// namedTensor is one tensor to write: its name in the file and its value.
type namedTensor struct {
	name string
	t    *tensors.Tensor
	// half writes a float32 tensor as F16.
	half bool
}

var safetensorsDTypes = map[dtypes.DType]string{dtypes.Float32: "F32", dtypes.Float16: "F16", dtypes.BFloat16: "BF16", dtypes.Int64: "I64", dtypes.Int32: "I32"}

// writeSafetensors writes ts (in that order) and metadata to path atomically.
func writeSafetensors(path string, ts []namedTensor, metadata map[string]string) error {
	var out []stfile.Tensor
	for _, nt := range ts {
		dt, ok := safetensorsDTypes[nt.t.DType()]
		if !ok {
			return fmt.Errorf("save %s: tensor %s has dtype %s, which is not saved", path, nt.name, nt.t.DType())
		}
		size := int64(nt.t.Shape().Memory())
		if nt.half {
			if nt.t.DType() != dtypes.Float32 {
				return fmt.Errorf("save %s: tensor %s: only float32 tensors are written as F16", path, nt.name)
			}
			dt, size = "F16", size/2
		}
		out = append(out, stfile.Tensor{Name: nt.name, DType: dt, Shape: nt.t.Shape().Dimensions, Size: size, Write: func(w io.Writer) error {
			var werr error
			err := nt.t.ConstBytes(func(raw []byte) {
				if !nt.half {
					_, werr = w.Write(raw)
					return
				}
				buf := make([]byte, 0, len(raw)/2)
				for i := 0; i+4 <= len(raw); i += 4 {
					f := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
					buf = binary.LittleEndian.AppendUint16(buf, uint16(float16.From(f)))
				}
				_, werr = w.Write(buf)
			})
			if err != nil {
				return err
			}
			return werr
		}})
	}
	return stfile.Write(path, out, metadata)
}

// SaveOptions tunes Model.Save.
type SaveOptions struct {
	// Half writes the weights as F16 (half the size; what a float32 model loses is
	// F16 rounding, relative 2⁻¹¹).
	Half bool
	// Metadata goes into the safetensors header's __metadata__ (with "format": "pt").
	Metadata map[string]string
}

// Save writes m as a Hugging Face GPT-2 folder in dir: model.safetensors (the
// tensor names of GPT2LMHeadModel's transformer, lm_head tied), config.json and
// tokenizer.json. LoadDir and transformers' GPT2LMHeadModel.from_pretrained both
// read it. Files are replaced atomically, one by one.
func (m *Model) Save(dir string, opts SaveOptions) error {
	if m.Config.Family != lm.FamilyGPT2 {
		return fmt.Errorf("save: only GPT-2 models are saved so far (this is a %s model)", lm.FamilyName(m.Config.Family))
	}
	if m.Tokenizer == nil || m.Tokenizer.Source() == nil {
		return errors.New("save: the model has no tokenizer.json to write")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	var ts []namedTensor
	for _, spec := range weightTable(m.Config) {
		v := m.store.GetVariable(storePath(spec.name))
		if v == nil {
			return fmt.Errorf("save: weight %s is missing", spec.name)
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("save: weight %s: %w", spec.name, err)
		}
		ts = append(ts, namedTensor{name: spec.name, t: t, half: opts.Half && t.DType() == dtypes.Float32})
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	if err := writeSafetensors(filepath.Join(dir, WeightsFile), ts, meta); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	cfg, err := json.MarshalIndent(hfJSON(m.Config, opts.Half), "", "  ")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "config.json"), append(cfg, '\n')); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "tokenizer.json"), m.Tokenizer.Source()); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// hfJSON is the config.json transformers writes for a GPT-2 of these shapes.
func hfJSON(c *Config, half bool) map[string]any {
	dtype := "float32"
	if half {
		dtype = "float16"
	}
	return map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2",
		"n_layer": c.NLayer, "n_head": c.NHead, "n_embd": c.NEmbd, "n_positions": c.NPositions, "n_ctx": c.NPositions,
		"vocab_size": c.VocabSize, "layer_norm_epsilon": c.LayerNormEps, "activation_function": c.Activation,
		"n_inner": c.NInner, "bos_token_id": c.BOSTokenID, "eos_token_id": c.EOSTokenID,
		"initializer_range": 0.02, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
		"scale_attn_weights": true, "tie_word_embeddings": true, "torch_dtype": dtype,
	}
}

// checkpointMeta is the metadata key under which a checkpoint keeps its own facts.
const checkpointMeta = "logitlens_checkpoint"

// checkpointFacts are what a checkpoint records besides its tensors.
type checkpointFacts struct {
	Config    *Config           `json:"config"`
	Trainable map[string]bool   `json:"trainable"`
	User      map[string]string `json:"user,omitempty"`
}

// SaveCheckpoint writes everything training needs to continue — the weights, the
// optimiser's moments and the step counters — with the caller's metadata, to path
// (one safetensors file, replaced atomically).
func (t *Trainer) SaveCheckpoint(path string, metadata map[string]string) error {
	facts := checkpointFacts{Config: t.m.Config, Trainable: map[string]bool{}, User: metadata}
	var ts []namedTensor
	for v := range t.m.store.IterVariables() {
		if !v.HasValue() {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("checkpoint: %s: %w", v.Path(), err)
		}
		ts = append(ts, namedTensor{name: v.Path(), t: val})
		facts.Trainable[v.Path()] = v.Trainable
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	js, err := json.Marshal(facts)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeSafetensors(path, ts, map[string]string{checkpointMeta: string(js)}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// RestoreCheckpoint loads a checkpoint written by SaveCheckpoint into m, which must
// have the same config, and returns the caller's metadata. Call it before
// NewTrainer: the trainer then continues from the checkpoint's step, with its
// optimiser state.
func (m *Model) RestoreCheckpoint(path string) (map[string]string, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("restore checkpoint %s: %s", path, fmt.Sprintf(format, args...))
	}
	file, err := stfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("restore checkpoint: %w", err)
	}
	var facts checkpointFacts
	if err := json.Unmarshal([]byte(file.Metadata[checkpointMeta]), &facts); err != nil || facts.Config == nil {
		return nil, fail("it holds no training state (a model folder's weights are loaded with gpt2.LoadDir, not restored)")
	}
	if a, b := *facts.Config, *m.Config; a.NLayer != b.NLayer || a.NHead != b.NHead || a.NEmbd != b.NEmbd || a.NPositions != b.NPositions || a.VocabSize != b.VocabSize {
		return nil, fail("it was made for a model with n_layer=%d n_head=%d n_embd=%d n_positions=%d vocab_size=%d, this one has %d %d %d %d %d",
			a.NLayer, a.NHead, a.NEmbd, a.NPositions, a.VocabSize, b.NLayer, b.NHead, b.NEmbd, b.NPositions, b.VocabSize)
	}
	for name, info := range file.Tensors {
		var dtype dtypes.DType
		for d, s := range safetensorsDTypes {
			if s == info.DType {
				dtype = d
			}
		}
		if dtype == dtypes.InvalidDType {
			return nil, fail("tensor %s has dtype %s", name, info.DType)
		}
		raw := file.Bytes(name)
		if len(raw) != dtype.Size()*product(info.Shape) {
			return nil, fail("tensor %s: %d bytes do not hold its shape %v: the file is damaged", name, len(raw), info.Shape)
		}
		t := tensors.FromShape(shapes.Make(dtype, info.Shape...))
		t.MutableBytes(func(b []byte) { copy(b, raw) })
		if v := m.store.GetVariable(name); v != nil {
			if !v.Shape().Equal(t.Shape()) {
				return nil, fail("tensor %s has shape %s, the model's is %s", name, t.Shape(), v.Shape())
			}
			if err := v.SetValue(t); err != nil {
				return nil, fail("%s: %v", name, err)
			}
			continue
		}
		if !strings.HasPrefix(name, "/") {
			return nil, fail("tensor %s is not a variable path", name)
		}
		v, err := m.store.CreateVariable(name, t)
		if err != nil {
			return nil, fail("%s: %v", name, err)
		}
		v.SetTrainable(facts.Trainable[name])
	}
	return facts.User, nil
}

// WeightsHash is the SHA-256 of every weight of m (in the order of the Hugging Face
// names, each as float32 little-endian): it tells one set of weights from another,
// whatever file or precision they were loaded from (a half-precision copy hashes
// as its widened values).
func (m *Model) WeightsHash() (string, error) {
	h := sha256.New()
	for _, spec := range weightTable(m.Config) {
		a, err := m.Weight(spec.name)
		if err != nil {
			return "", err
		}
		buf := make([]byte, 4*len(a.Data))
		for i, v := range a.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		h.Write([]byte(spec.name))
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
