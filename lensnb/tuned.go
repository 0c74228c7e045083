package lensnb

// The tuned lens (Belrose et al. 2023, "Eliciting Latent Predictions from
// Transformers with the Tuned Lens"): the logit lens reads a state h through the
// model's own ln_f and lm_head; early states live in other coordinates than the
// last one, so the logit lens misreads them. The tuned lens first moves each state
// with an affine translator learned for its layer,
//
//	h ↦ h + W_ℓ·h + b_ℓ        (W_ℓ, b_ℓ start at zero: the identity)
//
// trained, with the model frozen, to make ln_f → lm_head of the moved state match
// the model's final distribution at the same position: the loss is Σ_ℓ KL(final ‖
// lens_ℓ), averaged over tokens. A translator exists for the embeddings and for
// blocks 0..n-2; the last block's output is the model's output and is read as is.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/logitlens-go/logitlens/internal/stfile"
	"github.com/logitlens-go/logitlens/lm"
)

// TunedLens holds one affine translator per translated state.
type TunedLens struct {
	// For says which model the translators were trained for.
	For ModelStamp
	// D is n_embd. W[i] is translator i's matrix, [D×D] row-major (out[r] = Σ_c
	// W[r·D+c]·h[c]), B[i] its bias [D]; translator 0 is the embeddings', translator
	// i+1 that of blocks.i's output.
	D    int
	W, B [][]float32
	// Trained records how (steps, tokens, loss); informational.
	Trained map[string]string

	// VelW, VelB are the optimiser's velocities [n·D·D], [n·D] while training
	// (saved in checkpoints, so that a resumed run continues its momentum); nil
	// in translators read for use. They do not cross a model server's socket.
	VelW, VelB []float32
}

// ModelStamp identifies a model: its shapes and the hash of its weights.
type ModelStamp struct {
	NLayer, NEmbd, VocabSize int
	WeightsHash              string
}

// StampOf returns m's stamp.
func StampOf(m *Model) (ModelStamp, error) {
	h, err := m.WeightsHash()
	if err != nil {
		return ModelStamp{}, fmt.Errorf("tuned lens: %w", err)
	}
	return ModelStamp{NLayer: m.Config.NLayer, NEmbd: m.Config.NEmbd, VocabSize: m.Config.VocabSize, WeightsHash: h}, nil
}

// NewTunedLens returns identity translators for m (untrained: it reads exactly as
// the logit lens with ln_f).
func NewTunedLens(m *Model) (*TunedLens, error) {
	stamp, err := StampOf(m)
	if err != nil {
		return nil, err
	}
	d, n := m.Config.NEmbd, m.Config.NLayer
	tl := &TunedLens{For: stamp, D: d}
	for i := 0; i < n; i++ {
		tl.W = append(tl.W, make([]float32, d*d))
		tl.B = append(tl.B, make([]float32, d))
	}
	return tl, nil
}

// Fits says whether tl can read the states of a model of cfg (shapes only; CheckModel also compares
// the weights).
func (tl *TunedLens) Fits(cfg *lm.Config) error {
	if tl.For.NLayer != cfg.NLayer || tl.For.NEmbd != cfg.NEmbd || tl.D != cfg.NEmbd || len(tl.W) != cfg.NLayer || len(tl.B) != cfg.NLayer {
		return fmt.Errorf("tuned lens: the translators are for a model with n_layer=%d n_embd=%d, this one has n_layer=%d n_embd=%d: train translators for it (logitlens tune)",
			tl.For.NLayer, tl.For.NEmbd, cfg.NLayer, cfg.NEmbd)
	}
	for i := range tl.W {
		if len(tl.W[i]) != tl.D*tl.D || len(tl.B[i]) != tl.D {
			return fmt.Errorf("tuned lens: translator %d has the wrong size", i)
		}
	}
	return nil
}

// CheckModel fails unless tl was trained for m's very weights.
func (tl *TunedLens) CheckModel(m *Model) error {
	if err := tl.Fits(m.Config); err != nil {
		return err
	}
	stamp, err := StampOf(m)
	if err != nil {
		return err
	}
	if stamp.WeightsHash != tl.For.WeightsHash {
		return fmt.Errorf("tuned lens: the translators were trained for other weights (hash %.12s…, this model's %.12s…): train translators for this model (logitlens tune)", tl.For.WeightsHash, stamp.WeightsHash)
	}
	return nil
}

// TranslatorsFile is the file a tuned lens is saved in, inside its folder.
const TranslatorsFile = "translators.safetensors"

// Save writes tl into the folder dir (created if needed) as safetensors: one
// "translators.{i}.weight" [D, D] and ".bias" [D] per translator, and metadata
// naming the model it belongs to. The file is replaced atomically.
func (tl *TunedLens) Save(dir string) error {
	meta := map[string]string{
		"format": "logitlens-tuned-lens", "n_layer": strconv.Itoa(tl.For.NLayer), "n_embd": strconv.Itoa(tl.For.NEmbd),
		"vocab_size": strconv.Itoa(tl.For.VocabSize), "weights_sha256": tl.For.WeightsHash,
	}
	for k, v := range tl.Trained {
		meta["trained_"+k] = v
	}
	var ts []stfile.Tensor
	for i := range tl.W {
		ts = append(ts, stfile.Float32(fmt.Sprintf("translators.%d.weight", i), []int{tl.D, tl.D}, tl.W[i]),
			stfile.Float32(fmt.Sprintf("translators.%d.bias", i), []int{tl.D}, tl.B[i]))
	}
	if tl.VelW != nil {
		ts = append(ts, stfile.Float32("velocity.weight", []int{len(tl.W), tl.D, tl.D}, tl.VelW),
			stfile.Float32("velocity.bias", []int{len(tl.W), tl.D}, tl.VelB))
	}
	if err := stfile.Write(filepath.Join(dir, TranslatorsFile), ts, meta); err != nil {
		return fmt.Errorf("save tuned lens: %w", err)
	}
	return nil
}

// LoadTunedLens reads translators saved by Save (dir is the folder or the file)
// and checks that they were trained for m (shapes and weights hash); translators
// of another model are refused with a message that says so.
func LoadTunedLens(m *Model, dir string) (*TunedLens, error) {
	path := dir
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		path = filepath.Join(dir, TranslatorsFile)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load tuned lens %s: %s", path, fmt.Sprintf(format, args...))
	}
	file, err := stfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("load tuned lens: %w (train translators with `logitlens tune`)", err)
	}
	meta := file.Metadata
	if meta["format"] != "logitlens-tuned-lens" {
		return nil, fail("not a tuned lens (no logitlens-tuned-lens metadata)")
	}
	atoi := func(k string) int { v, _ := strconv.Atoi(meta[k]); return v }
	tl := &TunedLens{For: ModelStamp{NLayer: atoi("n_layer"), NEmbd: atoi("n_embd"), VocabSize: atoi("vocab_size"), WeightsHash: meta["weights_sha256"]}, D: atoi("n_embd"), Trained: map[string]string{}}
	for k, v := range meta {
		if strings.HasPrefix(k, "trained_") {
			tl.Trained[strings.TrimPrefix(k, "trained_")] = v
		}
	}
	read := func(name string, n int) ([]float32, error) {
		vals, err := file.Float32(name, n)
		if err != nil {
			return nil, fail("%v", err)
		}
		return vals, nil
	}
	for i := 0; i < tl.For.NLayer; i++ {
		w, err := read(fmt.Sprintf("translators.%d.weight", i), tl.D*tl.D)
		if err != nil {
			return nil, err
		}
		b, err := read(fmt.Sprintf("translators.%d.bias", i), tl.D)
		if err != nil {
			return nil, err
		}
		tl.W, tl.B = append(tl.W, w), append(tl.B, b)
	}
	if _, ok := file.Tensors["velocity.weight"]; ok {
		if tl.VelW, err = read("velocity.weight", tl.For.NLayer*tl.D*tl.D); err != nil {
			return nil, err
		}
		if tl.VelB, err = read("velocity.bias", tl.For.NLayer*tl.D); err != nil {
			return nil, err
		}
	}
	if err := tl.CheckModel(m); err != nil {
		return nil, err
	}
	return tl, nil
}

// Hash is a short content hash of translators (for tests and logs).
func (tl *TunedLens) Hash() string {
	h := sha256.New()
	for i := range tl.W {
		for _, vs := range [][]float32{tl.W[i], tl.B[i]} {
			buf := make([]byte, 4*len(vs))
			for j, v := range vs {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
			}
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// tunedWire is a TunedLens on a model server's socket: the matrices as two flat
// arrays (gob's own encoding of [][]float32 goes value by value), the optimiser's
// velocities left behind.
type tunedWire struct {
	For     ModelStamp
	D       int
	Trained map[string]string
	W, B    *lm.Array
}

// GobEncode writes tl as flat arrays W [n, D, D] and B [n, D].
func (tl *TunedLens) GobEncode() ([]byte, error) {
	n := len(tl.W)
	w, b := lm.NewArray(n, tl.D, tl.D), lm.NewArray(n, tl.D)
	for i := range tl.W {
		if len(tl.W[i]) != tl.D*tl.D || len(tl.B[i]) != tl.D {
			return nil, fmt.Errorf("tuned lens: translator %d has the wrong size", i)
		}
		copy(w.Data[i*tl.D*tl.D:], tl.W[i])
		copy(b.Data[i*tl.D:], tl.B[i])
	}
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(tunedWire{For: tl.For, D: tl.D, Trained: tl.Trained, W: w, B: b})
	return buf.Bytes(), err
}

// GobDecode reads what GobEncode wrote.
func (tl *TunedLens) GobDecode(data []byte) error {
	var w tunedWire
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return err
	}
	if w.W == nil || w.B == nil || len(w.W.Shape) != 3 || len(w.B.Shape) != 2 || w.W.Shape[1] != w.D || w.W.Shape[2] != w.D || w.B.Shape[0] != w.W.Shape[0] || w.B.Shape[1] != w.D {
		return errors.New("tuned lens: malformed encoding")
	}
	*tl = TunedLens{For: w.For, D: w.D, Trained: w.Trained}
	for i := 0; i < w.W.Shape[0]; i++ {
		tl.W = append(tl.W, w.W.Data[i*w.D*w.D:(i+1)*w.D*w.D])
		tl.B = append(tl.B, w.B.Data[i*w.D:(i+1)*w.D])
	}
	return nil
}
