package lm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Config holds the GPT-2 hyper-parameters read from a Hugging Face config.json.
// Field names follow GPT2Config.
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
}

// Inner is the MLP hidden size: n_inner, or 4*n_embd when n_inner is null.
func (c *Config) Inner() int {
	if c.NInner != nil && *c.NInner > 0 {
		return *c.NInner
	}
	return 4 * c.NEmbd
}

// HeadDim is n_embd / n_head.
func (c *Config) HeadDim() int { return c.NEmbd / c.NHead }

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes a config.json and validates it. Defaults follow GPT2Config
// (eps 1e-5, gelu_new, eos 50256) where a field is absent.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{LayerNormEps: 1e-5, Activation: "gelu_new", EOSTokenID: 50256, BOSTokenID: 50256}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("parse config.json: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate rejects configurations this implementation does not compute exactly,
// naming the offending setting.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("config.json: "+format, args...)
	}
	if c.ModelType != "" && c.ModelType != "gpt2" {
		return bad("model_type %q is not supported: only \"gpt2\" models load", c.ModelType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"n_layer", c.NLayer}, {"n_head", c.NHead}, {"n_embd", c.NEmbd}, {"n_positions", c.NPositions}, {"vocab_size", c.VocabSize}} {
		if f.v <= 0 {
			return bad("%s must be a positive integer, got %d", f.name, f.v)
		}
	}
	if c.NEmbd%c.NHead != 0 {
		return bad("n_embd (%d) must be divisible by n_head (%d)", c.NEmbd, c.NHead)
	}
	if c.LayerNormEps <= 0 {
		return bad("layer_norm_epsilon must be > 0, got %g", c.LayerNormEps)
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
