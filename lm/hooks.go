package lm

import (
	"fmt"
	"strings"
)

// Hook names follow TransformerLens.
const (
	HookEmbed      = "hook_embed"
	HookPosEmbed   = "hook_pos_embed"
	HookNormalized = "ln_final.hook_normalized"
	// HookZ (per block: "blocks.{i}.attn.hook_z") is every head's attention-weighted
	// values before c_proj: [seq, n_head, d_head]. Block i's attention output is
	// Σ_h z[:, h, :] · c_proj.weight[h·d_head : (h+1)·d_head, :] + c_proj.bias.
	HookZ = "attn.hook_z"
)

// blockHooks are the per-block hook suffixes, in the order the forward pass reaches them.
var blockHooks = []string{"hook_resid_pre", HookZ, "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"}

// IsHookZ says whether name is some block's attn.hook_z.
func IsHookZ(name string) bool { return strings.HasSuffix(name, "."+HookZ) }

// BlockHook returns the name of a per-block hook, e.g. BlockHook(3, "hook_resid_post").
func BlockHook(layer int, hook string) string { return fmt.Sprintf("blocks.%d.%s", layer, hook) }

// ResidPost is the name of block i's output, "blocks.{i}.hook_resid_post".
func ResidPost(layer int) string { return BlockHook(layer, "hook_resid_post") }

// HookNames lists every activation name of a model with cfg, in forward order.
func HookNames(cfg *Config) []string {
	names := []string{HookEmbed}
	if cfg.RotaryDims() == 0 { // learned position embeddings (GPT-2); rotary families turn q and k instead
		names = append(names, HookPosEmbed)
	}
	for i := 0; i < cfg.NLayer; i++ {
		for _, s := range blockHooks {
			names = append(names, BlockHook(i, s))
		}
	}
	return append(names, HookNormalized)
}

// CheckHooks returns an error naming the first unknown hook among names and saying
// what the valid ones are (by pattern, not one by one: gpt2-xl has 291).
func CheckHooks(cfg *Config, names ...string) error {
	valid := make(map[string]bool)
	for _, n := range HookNames(cfg) {
		valid[n] = true
	}
	for _, n := range names {
		if !valid[n] {
			first := HookEmbed
			if cfg.RotaryDims() == 0 {
				first += ", " + HookPosEmbed
			}
			return fmt.Errorf("unknown hook %q: valid names are %s, blocks.{0..%d}.{%s} and %s",
				n, first, cfg.NLayer-1, strings.Join(blockHooks, ","), HookNormalized)
		}
	}
	return nil
}

// PatchOp says how a patch changes an activation.
type PatchOp int

const (
	// PatchReplace sets the activation to Value.
	PatchReplace PatchOp = iota
	// PatchAdd adds Value to the activation.
	PatchAdd
	// PatchZero sets the activation to zero (Value is ignored).
	PatchZero
)

func (op PatchOp) String() string {
	switch op {
	case PatchReplace:
		return "replace"
	case PatchAdd:
		return "add"
	case PatchZero:
		return "zero"
	}
	return fmt.Sprintf("PatchOp(%d)", int(op))
}

// Patch changes one activation during a run; everything downstream is recomputed.
type Patch struct {
	Hook string
	Op   PatchOp
	// Positions restricts the patch to these sequence positions; nil means all.
	Positions []int
	// Value is the replacement or the addend: shape [n_embd] (same vector everywhere),
	// [seq, n_embd] (per position) or [batch, seq, n_embd]; for attn.hook_z the last
	// axis may also be given as [n_head, d_head] (e.g. [seq, n_head, d_head]), as it
	// is read. Unused for PatchZero.
	Value *Array
}
