package lm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config holds a model's hyper-parameters read from a Hugging Face config.json.
// The fields of GPT-2 keep GPT2Config's names (n_layer, n_embd, …); the other
// families' keys (hidden_size, num_hidden_layers, …) are read into the same
// fields by ParseConfig, and what only they have is below.
type Config struct {
	NLayer        int     `json:"n_layer"`
	NHead         int     `json:"n_head"`
	NEmbd         int     `json:"n_embd"`
	NPositions    int     `json:"n_positions"`
	VocabSize     int     `json:"vocab_size"`
	LayerNormEps  float64 `json:"layer_norm_epsilon"`
	Activation    string  `json:"activation_function"`
	NInner        *int    `json:"n_inner"`
	BOSTokenID    int     `json:"bos_token_id"`
	EOSTokenID    int     `json:"eos_token_id"`
	ModelType     string  `json:"model_type"`
	ScaleAttnWts  *bool   `json:"scale_attn_weights"`
	ScaleByIdx    bool    `json:"scale_attn_by_inverse_layer_idx"`
	ReorderUpcast bool    `json:"reorder_and_upcast_attn"`
	AddCrossAttn  bool    `json:"add_cross_attention"`

	// Family is the architecture: FamilyGPT2, FamilyLlama, FamilyQwen2, FamilyQwen3
	// or FamilyNeoX (from model_type).
	Family string `json:"-"`
	// NKVHead is the number of key/value heads (grouped-query attention); NHead
	// when the config has none.
	NKVHead int `json:"-"`
	// HeadSize is head_dim when the config gives it (Qwen3), else 0 (n_embd/n_head).
	HeadSize int `json:"-"`
	// RMSNorm: the norms are RMSNorm (weight only), not LayerNorm.
	RMSNorm bool `json:"-"`
	// Rotary position embeddings: base θ, the fraction of each head's dimensions
	// rotated (1 but for GPT-NeoX's rotary_pct), and the scaling, if any.
	RopeTheta   float64      `json:"-"`
	RotaryPct   float64      `json:"-"`
	RopeScaling *RopeScaling `json:"-"`
	// TiedEmbeddings: lm_head is the token embedding matrix.
	TiedEmbeddings bool `json:"-"`
	// AttnBias: q/k/v projections have biases (Qwen2; attention_bias).
	AttnBias bool `json:"-"`
	// QKNorm: per-head RMSNorm of q and k before the rotation (Qwen3).
	QKNorm bool `json:"-"`
	// ParallelResidual: x + attn(ln1(x)) + mlp(ln2(x)) (GPT-NeoX).
	ParallelResidual bool `json:"-"`
}

// The families.
const (
	FamilyGPT2  = "gpt2"
	FamilyLlama = "llama"
	FamilyQwen2 = "qwen2"
	FamilyQwen3 = "qwen3"
	FamilyNeoX  = "gpt_neox"
)

// Families lists the model types that load.
var Families = []string{FamilyGPT2, FamilyLlama, FamilyQwen2, FamilyQwen3, FamilyNeoX}

// FamilyName is a family's name in messages: "GPT-2", "Llama", "Qwen2", "Qwen3", "GPT-NeoX".
func FamilyName(family string) string {
	switch family {
	case FamilyLlama:
		return "Llama"
	case FamilyQwen2:
		return "Qwen2"
	case FamilyQwen3:
		return "Qwen3"
	case FamilyNeoX:
		return "GPT-NeoX"
	}
	return "GPT-2"
}

// RopeScaling is config.json's rope_scaling.
type RopeScaling struct {
	Type                          string  `json:"rope_type"`
	LegacyType                    string  `json:"type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
}

// Inner is the MLP hidden size: n_inner (intermediate_size), or 4*n_embd when n_inner is null.
func (c *Config) Inner() int {
	if c.NInner != nil && *c.NInner > 0 {
		return *c.NInner
	}
	return 4 * c.NEmbd
}

// HeadDim is each head's size: head_dim when the config gives it, else n_embd / n_head.
func (c *Config) HeadDim() int {
	if c.HeadSize > 0 {
		return c.HeadSize
	}
	return c.NEmbd / c.NHead
}

// KVHeads is the number of key/value heads (n_head without grouped-query attention).
func (c *Config) KVHeads() int {
	if c.NKVHead > 0 {
		return c.NKVHead
	}
	return c.NHead
}

// RotaryDims is how many of each head's dimensions the rotary embedding turns (0: no RoPE).
func (c *Config) RotaryDims() int {
	if c.Family == FamilyGPT2 || c.Family == "" {
		return 0
	}
	return int(float64(c.HeadDim()) * c.RotaryPct)
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes a config.json and validates it. GPT-2's defaults follow
// GPT2Config (eps 1e-5, gelu_new, eos 50256) where a field is absent; the other
// families' follow their transformers config classes.
func ParseConfig(data []byte) (*Config, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("parse config.json: %w", err)
	}
	var c *Config
	var err error
	switch head.ModelType {
	case "", FamilyGPT2:
		c = &Config{LayerNormEps: 1e-5, Activation: "gelu_new", EOSTokenID: 50256, BOSTokenID: 50256}
		if err = json.Unmarshal(data, c); err == nil {
			c.Family, c.TiedEmbeddings = FamilyGPT2, true
		}
	case FamilyLlama, FamilyQwen2, FamilyQwen3, FamilyNeoX:
		c, err = parseHFConfig(head.ModelType, data)
	default:
		return nil, fmt.Errorf("config.json: model_type %q is not supported: the families that load are %s", head.ModelType, strings.Join(Families, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("parse config.json: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// hfConfig is the keys of LlamaConfig, Qwen2Config, Qwen3Config and GPTNeoXConfig
// that the forward pass reads.
type hfConfig struct {
	HiddenSize          int             `json:"hidden_size"`
	NumHiddenLayers     int             `json:"num_hidden_layers"`
	NumAttentionHeads   int             `json:"num_attention_heads"`
	NumKeyValueHeads    int             `json:"num_key_value_heads"`
	IntermediateSize    int             `json:"intermediate_size"`
	HeadDim             int             `json:"head_dim"`
	MaxPositions        int             `json:"max_position_embeddings"`
	VocabSize           int             `json:"vocab_size"`
	RMSNormEps          float64         `json:"rms_norm_eps"`
	LayerNormEps        float64         `json:"layer_norm_eps"`
	HiddenAct           string          `json:"hidden_act"`
	RopeTheta           float64         `json:"rope_theta"`
	RotaryEmbBase       float64         `json:"rotary_emb_base"`
	RotaryPct           *float64        `json:"rotary_pct"`
	PartialRotary       *float64        `json:"partial_rotary_factor"`
	RopeScaling         *RopeScaling    `json:"rope_scaling"`
	TieWordEmbeddings   *bool           `json:"tie_word_embeddings"`
	AttentionBias       *bool           `json:"attention_bias"`
	MLPBias             bool            `json:"mlp_bias"`
	UseParallelResidual *bool           `json:"use_parallel_residual"`
	BOSTokenID          json.RawMessage `json:"bos_token_id"`
	EOSTokenID          json.RawMessage `json:"eos_token_id"`
}

// parseHFConfig reads a Llama, Qwen2, Qwen3 or GPT-NeoX config.json.
func parseHFConfig(family string, data []byte) (*Config, error) {
	h := hfConfig{RopeTheta: 10000}
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, err
	}
	inner := h.IntermediateSize
	c := &Config{Family: family, ModelType: family, NLayer: h.NumHiddenLayers, NHead: h.NumAttentionHeads, NEmbd: h.HiddenSize,
		NPositions: h.MaxPositions, VocabSize: h.VocabSize, NInner: &inner, NKVHead: h.NumKeyValueHeads, HeadSize: h.HeadDim,
		RopeTheta: h.RopeTheta, RotaryPct: 1, RopeScaling: h.RopeScaling, Activation: h.HiddenAct}
	tied := func(def bool) bool {
		if h.TieWordEmbeddings != nil {
			return *h.TieWordEmbeddings
		}
		return def
	}
	switch family {
	case FamilyNeoX:
		c.LayerNormEps, c.TiedEmbeddings, c.ParallelResidual = h.LayerNormEps, tied(false), true
		if c.LayerNormEps == 0 {
			c.LayerNormEps = 1e-5
		}
		if h.UseParallelResidual != nil {
			c.ParallelResidual = *h.UseParallelResidual
		}
		c.RotaryPct = 0.25
		for _, p := range []*float64{h.RotaryPct, h.PartialRotary} {
			if p != nil {
				c.RotaryPct = *p
			}
		}
		if h.RotaryEmbBase > 0 {
			c.RopeTheta = h.RotaryEmbBase
		}
		if c.Activation == "" {
			c.Activation = "gelu"
		}
		c.HeadSize = 0 // GPT-NeoX's head size is always hidden/heads
	default:
		c.RMSNorm, c.LayerNormEps, c.TiedEmbeddings = true, h.RMSNormEps, tied(false) // the config classes' default: untied
		if c.LayerNormEps == 0 {
			c.LayerNormEps = 1e-6
		}
		c.AttnBias = family == FamilyQwen2
		if h.AttentionBias != nil && family != FamilyQwen2 {
			c.AttnBias = *h.AttentionBias
		}
		c.QKNorm = family == FamilyQwen3
		if c.Activation == "" {
			c.Activation = "silu"
		}
		if family != FamilyQwen3 && h.HeadDim == h.HiddenSize/max(1, h.NumAttentionHeads) {
			c.HeadSize = 0
		}
		if h.MLPBias {
			return nil, errors.New("mlp_bias=true is not supported")
		}
	}
	var err error
	if c.BOSTokenID, err = firstID(h.BOSTokenID, 0); err != nil {
		return nil, fmt.Errorf("bos_token_id: %w", err)
	}
	if c.EOSTokenID, err = firstID(h.EOSTokenID, 0); err != nil {
		return nil, fmt.Errorf("eos_token_id: %w", err)
	}
	return c, nil
}

// firstID reads a token id given as a number or a list of numbers (Llama 3's
// eos_token_id); the first counts. Absent or null: def.
func firstID(raw json.RawMessage, def int) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var id int
	if json.Unmarshal(raw, &id) == nil {
		return id, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 {
		return 0, fmt.Errorf("want a token id or a list of them, got %s", raw)
	}
	return ids[0], nil
}

// Validate rejects configurations this implementation does not compute exactly,
// naming the offending setting.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("config.json: "+format, args...)
	}
	if c.Family == "" {
		c.Family = FamilyGPT2
	}
	if c.ModelType != "" && !slices.Contains(Families, c.ModelType) {
		return bad("model_type %q is not supported: the families that load are %s", c.ModelType, strings.Join(Families, ", "))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"n_layer", c.NLayer}, {"n_head", c.NHead}, {"n_embd", c.NEmbd}, {"n_positions", c.NPositions}, {"vocab_size", c.VocabSize}} {
		if f.v <= 0 {
			return bad("%s must be a positive integer, got %d", c.keyName(f.name), f.v)
		}
	}
	if c.HeadSize == 0 && c.NEmbd%c.NHead != 0 {
		return bad("%s (%d) must be divisible by %s (%d)", c.keyName("n_embd"), c.NEmbd, c.keyName("n_head"), c.NHead)
	}
	if c.LayerNormEps <= 0 {
		return bad("the norm's epsilon must be > 0, got %g", c.LayerNormEps)
	}
	if c.Family != FamilyGPT2 {
		return c.validateRotary(bad)
	}
	switch c.Activation {
	case "gelu_new", "gelu_pytorch_tanh":
	default:
		return bad("activation_function %q is not supported: GPT-2 uses \"gelu_new\" (tanh approximation)", c.Activation)
	}
	if c.ScaleAttnWts != nil && !*c.ScaleAttnWts {
		return bad("scale_attn_weights=false is not supported")
	}
	if c.ScaleByIdx {
		return bad("scale_attn_by_inverse_layer_idx=true is not supported")
	}
	if c.AddCrossAttn {
		return bad("add_cross_attention=true is not supported")
	}
	if c.EOSTokenID < 0 || c.EOSTokenID >= c.VocabSize {
		return bad("eos_token_id %d is outside the vocabulary (size %d)", c.EOSTokenID, c.VocabSize)
	}
	return nil
}

// validateRotary checks what the rotary families add.
func (c *Config) validateRotary(bad func(string, ...any) error) error {
	if c.NHead%c.KVHeads() != 0 {
		return bad("num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", c.NHead, c.KVHeads())
	}
	if c.Inner() <= 0 {
		return bad("intermediate_size must be a positive integer")
	}
	if !(c.RopeTheta > 0) {
		return bad("rope_theta must be > 0, got %g", c.RopeTheta)
	}
	if !(c.RotaryPct > 0 && c.RotaryPct <= 1) || c.RotaryDims()%2 != 0 {
		return bad("rotary_pct %g must be in (0, 1] and rotate an even number of each head's %d dimensions", c.RotaryPct, c.HeadDim())
	}
	want := map[string][]string{FamilyNeoX: {"gelu"}}[c.Family]
	if want == nil {
		want = []string{"silu"}
	}
	if !slices.Contains(want, c.Activation) {
		return bad("hidden_act %q is not supported for %s: %s", c.Activation, c.Family, strings.Join(want, ", "))
	}
	if s := c.RopeScaling; s != nil {
		typ := s.Type
		if typ == "" {
			typ = s.LegacyType
		}
		switch typ {
		case "default", "":
		case "linear":
			if !(s.Factor >= 1) {
				return bad("rope_scaling linear: factor must be ≥ 1, got %g", s.Factor)
			}
		case "llama3":
			if !(s.Factor >= 1) || !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor) || s.OriginalMaxPositionEmbeddings <= 0 {
				return bad("rope_scaling llama3: needs factor ≥ 1, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings")
			}
		default:
			return bad("rope_scaling of type %q is not supported: llama3 and linear are (or none)", typ)
		}
		s.Type = typ
	}
	return nil
}

// keyName is a field's name in this family's config.json.
func (c *Config) keyName(gpt2Name string) string {
	if c.Family == FamilyGPT2 || c.Family == "" {
		return gpt2Name
	}
	return map[string]string{"n_layer": "num_hidden_layers", "n_head": "num_attention_heads", "n_embd": "hidden_size",
		"n_positions": "max_position_embeddings", "vocab_size": "vocab_size"}[gpt2Name]
}
