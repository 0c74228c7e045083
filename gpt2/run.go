package gpt2

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/logitlens-go/logitlens/lm"
)

// Model is a loaded GPT-2: config, tokenizer, weights in a GoMLX store, and the
// compiled graphs it has used so far.
type Model struct {
	Config    *Config
	Tokenizer *Tokenizer
	// Ref is what Load was given; Dir the local folder the files came from.
	Ref, Dir string
	// BackendName says which GoMLX backend runs the model and why it was chosen.
	BackendName string

	backend compute.Backend
	store   *model.Store

	mu    sync.Mutex
	execs map[string]*model.Exec
	order []string // least recently used first
}

// Backend returns the GoMLX backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// Store returns the GoMLX store holding the weights under their Hugging Face names
// ("/h/0/attn/c_attn/weight"); packages built on gpt2 (the lens) compile their own
// graphs over it.
func (m *Model) Store() *model.Store { return m.store }

// Run runs one prompt of token ids.
func (m *Model) Run(ids []int, opts RunOptions) (*RunResult, error) {
	res, err := m.RunBatch([][]int{ids}, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Forward returns the logits [seq, vocab] and the Hugging Face hidden states for ids.
func (m *Model) Forward(ids []int) (logits *Array, hidden []*Array, err error) {
	res, err := m.Run(ids, RunOptions{HiddenStates: true})
	if err != nil {
		return nil, nil, err
	}
	return res.Logits, res.HiddenStates, nil
}

// checkIDs validates one prompt's token ids against the model.
func (m *Model) checkIDs(ids []int) error {
	if len(ids) == 0 {
		return errors.New("empty prompt: give at least one token")
	}
	if len(ids) > m.Config.NPositions {
		return fmt.Errorf("prompt has %d tokens but the model reads at most n_positions=%d: shorten it", len(ids), m.Config.NPositions)
	}
	for i, id := range ids {
		if id < 0 || id >= m.Config.VocabSize {
			return fmt.Errorf("token id %d at position %d is outside the vocabulary [0,%d)", id, i, m.Config.VocabSize)
		}
	}
	return nil
}

// RunBatch runs several prompts together. Shorter prompts are padded on the right:
// with causal attention a real position never sees a pad, so each prompt's results
// equal a run on its own; results are trimmed to each prompt's length.
func (m *Model) RunBatch(batch [][]int, opts RunOptions) ([]*RunResult, error) {
	if len(batch) == 0 {
		return nil, errors.New("run: no prompts given")
	}
	seq := 0
	for i, ids := range batch {
		if err := m.checkIDs(ids); err != nil {
			return nil, fmt.Errorf("prompt %d: %w", i, err)
		}
		seq = max(seq, len(ids))
	}
	if err := lm.CheckHooks(m.Config, opts.Keep...); err != nil {
		return nil, err
	}
	opts.Patches = flattenHeadPatches(m.Config, opts.Patches)
	keep := opts.Keep
	if opts.HiddenStates {
		keep = append(append([]string(nil), keep...), lm.HiddenStateHooks(m.Config)...)
	}
	keep = sortedUnique(m.Config, keep)
	if err := m.checkPatches(opts.Patches, len(batch), seq); err != nil {
		return nil, err
	}
	if opts.Logits == LogitsNone && len(keep) == 0 {
		return nil, errors.New("run: nothing to return: ask for logits, hidden states or hooks (RunOptions.Keep)")
	}
	// Sequences are padded on the right to a bucket length so that few graphs are
	// compiled.
	padded := bucketLen(seq, m.Config.NPositions)
	// Inputs: ids [batch, padded], positions [padded], last positions [batch], then per
	// patch (value?, mask?).
	idsFlat := make([]int32, len(batch)*padded)
	last := make([]int32, len(batch))
	for b, ids := range batch {
		for t, id := range ids {
			idsFlat[b*padded+t] = int32(id)
		}
		last[b] = int32(len(ids) - 1)
	}
	// The graph's inputs: ids, positions and last positions at fixed places, then
	// each patch's value and mask where it has them. slots records where each went as
	// it is appended, and the graph reads them from there: the order of packing and
	// reading cannot drift apart.
	inputs := make([]any, inputsFixed, inputsFixed+2*len(opts.Patches))
	inputs[inIDs] = tensors.FromFlatDataAndDimensions(idsFlat, len(batch), padded)
	inputs[inPositions] = iota32(0, padded)
	inputs[inLast] = tensors.FromFlatDataAndDimensions(last, len(batch))
	slots := make([]patchSlot, len(opts.Patches))
	for i, p := range opts.Patches {
		slots[i] = patchSlot{value: -1, mask: -1}
		if p.Op != PatchZero {
			slots[i].value = len(inputs)
			inputs = append(inputs, padPatch(p.Value, seq, padded))
		}
		if p.Positions != nil {
			mask := make([]bool, padded)
			for _, pos := range p.Positions {
				mask[pos] = true
			}
			slots[i].mask = len(inputs)
			inputs = append(inputs, tensors.FromFlatDataAndDimensions(mask, padded))
		}
	}

	key := fmt.Sprintf("batch=%d;seq=%d;", len(batch), padded) + planKey(opts.Logits, opts.HiddenStates, keep, opts.Patches)
	exec, err := m.exec("run:"+key, func(scope *model.Scope, in []*Node) []*Node {
		h := &hooks{keep: map[string]bool{}, kept: map[string]*Node{}, patches: map[string]*patchNode{}}
		for _, k := range keep {
			h.keep[k] = true
		}
		for i, p := range opts.Patches {
			pn := &patchNode{op: p.Op}
			if slots[i].value >= 0 {
				pn.value = in[slots[i].value]
			}
			if slots[i].mask >= 0 {
				pn.mask = in[slots[i].mask]
			}
			h.patches[p.Hook] = pn
		}
		final := forward(scope, m.Config, in[inIDs], in[inPositions], h, nil)
		var outs []*Node
		switch opts.Logits {
		case LogitsAll:
			outs = append(outs, unembed(scope, m.Config, final))
		case LogitsLast: // unembed only each row's last real position
			batch, padded, d := final.Shape().Dim(0), final.Shape().Dim(1), final.Shape().Dim(2)
			rows := Add(MulScalar(Iota(final.Graph(), in[inLast].Shape(), 0), padded), in[inLast])
			lastState := Gather(Reshape(final, batch*padded, d), ExpandAxes(rows, -1)) // [batch, d]
			outs = append(outs, unembed(scope, m.Config, lastState))
		}
		for _, k := range keep {
			outs = append(outs, h.kept[k])
		}
		if opts.HiddenStates {
			outs = append(outs, final)
		}
		return outs
	})
	if err != nil {
		return nil, err
	}
	outs, err := exec.Call(inputs...)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	results := make([]*RunResult, len(batch))
	for b, ids := range batch {
		results[b] = &RunResult{IDs: append([]int(nil), ids...), Hooks: map[string]*Array{}}
	}
	next := 0
	if opts.Logits != LogitsNone {
		all, err := toArray(outs[0])
		if err != nil {
			return nil, err
		}
		next = 1
		for b, ids := range batch {
			row := all.Sub(b) // [padded, vocab], or [vocab] for LogitsLast
			if opts.Logits == LogitsLast {
				results[b].Logits = &Array{Shape: row.Shape, Data: append([]float32(nil), row.Data...)}
			} else if len(batch) == 1 && len(ids) == padded {
				results[b].Logits = row // all is already this prompt's own copy
			} else {
				results[b].Logits = trimRows(row, len(ids))
			}
		}
	}
	for i, k := range keep {
		arr, err := toArray(outs[next+i])
		if err != nil {
			return nil, err
		}
		for b, ids := range batch {
			a := trimRows(arr.Sub(b), len(ids))
			if lm.IsHookZ(k) { // [seq, n_embd] → [seq, n_head, d_head], as TransformerLens shows it
				a.Shape = []int{len(ids), m.Config.NHead, m.Config.HeadDim()}
			}
			results[b].Hooks[k] = a
		}
	}
	if opts.HiddenStates {
		final, err := toArray(outs[next+len(keep)])
		if err != nil {
			return nil, err
		}
		for b, ids := range batch {
			r := results[b]
			for _, k := range lm.HiddenStateHooks(m.Config) {
				r.HiddenStates = append(r.HiddenStates, r.Hooks[k])
			}
			r.HiddenStates = append(r.HiddenStates, trimRows(final.Sub(b), len(ids)))
		}
		for _, r := range results { // drop hooks only kept for the hidden states
			for _, k := range lm.HiddenStateHooks(m.Config) {
				if !contains(opts.Keep, k) {
					delete(r.Hooks, k)
				}
			}
		}
	}
	return results, nil
}

// flattenHeadPatches returns patches with every attn.hook_z value given per head
// ([..., n_head, d_head]) reshaped to [..., n_embd], the layout the graph patches.
func flattenHeadPatches(cfg *Config, patches []Patch) []Patch {
	out := append([]Patch(nil), patches...)
	for i, p := range out {
		if !lm.IsHookZ(p.Hook) || p.Value == nil {
			continue
		}
		s := p.Value.Shape
		if n := len(s); n >= 2 && s[n-2] == cfg.NHead && s[n-1] == cfg.HeadDim() {
			flat := append(append([]int(nil), s[:n-2]...), cfg.NHead*cfg.HeadDim())
			out[i].Value = &Array{Shape: flat, Data: p.Value.Data}
		}
	}
	return out
}

// The fixed inputs of a run graph (see RunBatch); patch inputs follow.
const (
	inIDs = iota
	inPositions
	inLast
	inputsFixed
)

// hookWidth is the last axis of a hook's activation: n_embd, or n_head·d_head for
// attn.hook_z (different where head_dim is given, as in Qwen3).
func hookWidth(cfg *Config, hook string) int {
	if lm.IsHookZ(hook) {
		return cfg.NHead * cfg.HeadDim()
	}
	return cfg.NEmbd
}

// patchSlot is where a patch's value and mask are among a run graph's inputs (-1:
// the patch has none).
type patchSlot struct{ value, mask int }

func (m *Model) checkPatches(patches []Patch, batch, seq int) error {
	seen := map[string]bool{}
	for _, p := range patches {
		d := hookWidth(m.Config, p.Hook)
		if err := lm.CheckHooks(m.Config, p.Hook); err != nil {
			return fmt.Errorf("patch: %w", err)
		}
		if seen[p.Hook] {
			return fmt.Errorf("patch: hook %q is patched twice; combine the patches into one", p.Hook)
		}
		seen[p.Hook] = true
		if p.Op < PatchReplace || p.Op > PatchZero {
			return fmt.Errorf("patch %s: unknown op %d", p.Hook, p.Op)
		}
		for _, pos := range p.Positions {
			if pos < 0 || pos >= seq {
				return fmt.Errorf("patch %s: position %d is out of range: the prompt has positions 0..%d", p.Hook, pos, seq-1)
			}
		}
		if p.Positions != nil && len(p.Positions) == 0 {
			return fmt.Errorf("patch %s: Positions is empty; use nil to patch every position", p.Hook)
		}
		if p.Op == PatchZero {
			continue
		}
		if p.Value == nil {
			return fmt.Errorf("patch %s: %s needs a Value", p.Hook, p.Op)
		}
		s := p.Value.Shape
		ok := len(s) > 0 && s[len(s)-1] == d && len(p.Value.Data) == product(s)
		switch len(s) {
		case 1:
		case 2:
			ok = ok && s[0] == seq
		case 3:
			ok = ok && s[0] == batch && s[1] == seq
		default:
			ok = false
		}
		if !ok {
			return fmt.Errorf("patch %s: value shape %v does not fit: use [%d], [%d %d] or [%d %d %d]", p.Hook, s, d, seq, d, batch, seq, d)
		}
	}
	return nil
}

// maxCompiled bounds the compiled graphs a model keeps: the least recently used one
// is released when a new one would exceed it. Graphs hold no weights (see
// weightsAsParameters), only the compiled program and its op plans, so the bound
// is about tidiness, not memory.
const maxCompiled = 16

// exec returns the compiled graph for key, building it on first use. Callers put
// every input shape into key, so that one Exec serves one shape.
func (m *Model) exec(key string, fn func(scope *model.Scope, in []*Node) []*Node) (*model.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.execs[key]; ok {
		m.touch(key)
		return e, nil
	}
	e, err := model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) []*Node {
		weightsAsParameters(m.store, in[0].Graph())
		return fn(scope, in)
	})
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", key, err)
	}
	if m.execs == nil {
		m.execs = map[string]*model.Exec{}
	}
	for len(m.order) >= maxCompiled {
		oldest := m.order[0]
		m.order = m.order[1:]
		m.execs[oldest].Finalize()
		delete(m.execs, oldest)
	}
	m.execs[key] = e
	m.order = append(m.order, key)
	return e, nil
}

// weightsAsParameters makes every weight a parameter of graph g, fed at each call
// with the store's own buffer, instead of a constant baked into the compiled graph.
//
// Why: the pure-Go backend declares PreferConstantsForVariables, and GoMLX then
// embeds each variable that has a value as a Constant node — a copy of the weight
// per compiled graph, plus a second copy that the backend's matmul packs into
// panels once per constant. With one graph per sequence-length bucket, lens shape
// and generation step that was 1 + 2×(graphs) copies of the weights (gpt2-xl was
// killed for memory at the second length). GoMLX keeps variables as parameters
// for graphs marked as training (model/variable.go, paramNode), and feeding a
// parameter with a tensor already on the device is free, so this marks every graph
// of the model that way: the weights then live once, in the store, whatever the
// number of graphs. Nothing in the forward pass depends on the flag (no dropout,
// no batch norm), and the store is never written by a graph.
//
// The cost, measured on GPT-2-small shapes (BENCHMARKS.md): the backend now packs
// each weight matrix on every call instead of once, +8% on a 64-token forward pass
// and about +40 ms per generation step.
func weightsAsParameters(store *model.Store, g *Graph) {
	store.SetTraining(g, true)
}

func (m *Model) touch(key string) {
	for i, k := range m.order {
		if k == key {
			m.order = append(append(m.order[:i:i], m.order[i+1:]...), key)
			return
		}
	}
}

// Exec compiles (once per key) a graph over the model's weights, for packages that
// build on gpt2. fn receives the root scope; use Unembed and FinalNorm in it. The
// key must identify the input shapes too: a few recent graphs are kept, older ones
// are released.
func (m *Model) Exec(key string, fn func(scope *model.Scope, in []*Node) []*Node) (*model.Exec, error) {
	return m.exec("user:"+key, fn)
}

// FinalNorm applies ln_f (with the model's epsilon) to x [..., n_embd] inside a graph
// built by Model.Exec. Its statistics are computed from x itself.
func (m *Model) FinalNorm(scope *model.Scope, x *Node) *Node {
	return finalNorm(in(scope, namesOf(m.Config).final), m.Config, x, nil) // the forward pass's own final norm
}

// Unembed projects x [..., n_embd] through the tied lm_head inside a graph built by
// Model.Exec, giving logits [..., vocab].
func (m *Model) Unembed(scope *model.Scope, x *Node) *Node {
	return unembed(scope, m.Config, x)
}

// bucketLen rounds a sequence length up to a power of two (at least 16, at most limit).
func bucketLen(n, limit int) int {
	b := 16
	for b < n {
		b *= 2
	}
	return max(min(b, limit), n)
}

// padPatch pads a patch value's sequence axis ([seq, d] or [batch, seq, d]) with zero
// rows up to padded; [d] values broadcast and need no padding.
func padPatch(v *Array, seq, padded int) *tensors.Tensor {
	if len(v.Shape) == 1 || seq == padded {
		return tensors.FromFlatDataAndDimensions(v.Data, v.Shape...)
	}
	d := v.Shape[len(v.Shape)-1]
	batch := 1
	if len(v.Shape) == 3 {
		batch = v.Shape[0]
	}
	data := make([]float32, batch*padded*d)
	for b := 0; b < batch; b++ {
		copy(data[b*padded*d:], v.Data[b*seq*d:(b+1)*seq*d])
	}
	shape := append([]int(nil), v.Shape...)
	shape[len(shape)-2] = padded
	return tensors.FromFlatDataAndDimensions(data, shape...)
}

func iota32(start, n int) *tensors.Tensor {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(start + i)
	}
	return tensors.FromFlatDataAndDimensions(v, n)
}

// toArray copies a float32 tensor into Go memory.
func toArray(t *tensors.Tensor) (*Array, error) {
	if t.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("internal: expected a float32 tensor, got %s", t.Shape())
	}
	data, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), t.Shape().Dimensions...)
	t.FinalizeAll() // give the backend its buffer back now, for reuse by the next call
	return &Array{Shape: shape, Data: data}, nil
}

// trimRows keeps the first n rows of a [seq, ...] array (copying, so padded rows are freed).
func trimRows(a *Array, n int) *Array {
	shape := append([]int(nil), a.Shape...)
	rowSize := len(a.Data) / shape[0]
	shape[0] = n
	return &Array{Shape: shape, Data: append([]float32(nil), a.Data[:n*rowSize]...)}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func product(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// LMHead returns a float32 copy of the tied lm_head matrix (= wte) [vocab, n_embd]:
// the logit of token v for a final hidden state h is row v · h.
func (m *Model) LMHead() (*Array, error) { return m.Weight(HeadWeight(m.Config)) }

// HeadWeight is the name of lm_head's matrix [vocab, n_embd] in the model of cfg:
// the token embedding's when tied (GPT-2's wte.weight).
func HeadWeight(cfg *Config) string {
	n := namesOf(cfg)
	if n.head == "" {
		n.head = n.embed
	}
	return strings.ReplaceAll(n.head, "/", ".") + ".weight"
}

// NormWeights names the final norm's weight and bias ("" for RMSNorm's, which has none).
func NormWeights(cfg *Config) (weight, bias string) {
	f := strings.ReplaceAll(namesOf(cfg).final, "/", ".")
	if cfg.RMSNorm {
		return f + ".weight", ""
	}
	return f + ".weight", f + ".bias"
}

// Weight returns a float32 copy of the weight with Hugging Face name name
// ("wte.weight", "h.3.attn.c_proj.weight", "ln_f.bias"; "lm_head.weight" is wte,
// tied), widened if it is kept in half precision.
func (m *Model) Weight(name string) (*Array, error) { return m.WeightRows(name) }

// WeightRows is Weight for some rows of the first axis only (all when rows is
// empty): WeightRows("wte.weight", id) is token id's embedding, which is also its
// lm_head row, without copying the whole vocabulary.
func (m *Model) WeightRows(name string, rows ...int) (*Array, error) {
	if name == "lm_head.weight" {
		name = HeadWeight(m.Config) // tied: the embedding's
	}
	v := m.store.GetVariable(storePath(name))
	if v == nil {
		return nil, fmt.Errorf("weight %s: the model has no such weight (names are Hugging Face's, e.g. wte.weight, h.0.attn.c_proj.weight, ln_f.bias)", name)
	}
	t, err := v.Value()
	if err != nil {
		return nil, fmt.Errorf("weight %s: %w", name, err)
	}
	dims := t.Shape().Dimensions
	rowSize := t.Size() / dims[0]
	for _, r := range rows {
		if r < 0 || r >= dims[0] {
			return nil, fmt.Errorf("weight %s: row %d is outside 0..%d", name, r, dims[0]-1)
		}
	}
	if len(rows) == 0 {
		rows = make([]int, dims[0])
		for i := range rows {
			rows[i] = i
		}
	}
	out := &Array{Shape: append([]int{len(rows)}, dims[1:]...), Data: make([]float32, len(rows)*rowSize)}
	copyRows := func(flat any) {
		for i, r := range rows {
			dst := out.Data[i*rowSize : (i+1)*rowSize]
			switch x := flat.(type) {
			case []float32:
				copy(dst, x[r*rowSize:])
			case []float16.Float16:
				for j, v := range x[r*rowSize : (r+1)*rowSize] {
					dst[j] = v.Float32()
				}
			case []bfloat16.BFloat16:
				for j, v := range x[r*rowSize : (r+1)*rowSize] {
					dst[j] = v.Float32()
				}
			}
		}
	}
	if m.backend.HasSharedBuffers() { // read the buffer the graphs use, in place
		buf, err := t.Buffer(m.backend, 0)
		if err == nil {
			var flat any
			if flat, err = buf.Data(); err == nil {
				copyRows(flat)
				return out, nil
			}
		}
		return nil, fmt.Errorf("weight %s: %w", name, err)
	}
	if err := t.ConstFlatData(copyRows); err != nil {
		return nil, fmt.Errorf("weight %s: %w", name, err)
	}
	t.FinalizeLocal() // the device copy stays the only one
	return out, nil
}

// WeightNames lists the model's weights by their Hugging Face names, in file order
// (a tied lm_head is not listed: it is the embedding).
func (m *Model) WeightNames() []string {
	var out []string
	for _, s := range weightTable(m.Config) {
		out = append(out, s.name)
	}
	return out
}
