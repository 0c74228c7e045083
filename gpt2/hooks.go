package gpt2

import (
	"fmt"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
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

// isHookZ says whether name is some block's attn.hook_z.
func isHookZ(name string) bool { return strings.HasSuffix(name, "."+HookZ) }

// BlockHook returns the name of a per-block hook, e.g. BlockHook(3, "hook_resid_post").
func BlockHook(layer int, hook string) string { return fmt.Sprintf("blocks.%d.%s", layer, hook) }

// ResidPost is the name of block i's output, "blocks.{i}.hook_resid_post".
func ResidPost(layer int) string { return BlockHook(layer, "hook_resid_post") }

// HookNames lists every activation name of a model with cfg, in forward order.
func HookNames(cfg *Config) []string {
	names := []string{HookEmbed, HookPosEmbed}
	for i := 0; i < cfg.NLayer; i++ {
		for _, s := range blockHooks {
			names = append(names, BlockHook(i, s))
		}
	}
	return append(names, HookNormalized)
}

// CheckHooks returns an error naming the first unknown hook among names and saying
// what the valid ones are (by pattern, not one by one: gpt2-xl has 291).
func CheckHooks(cfg *Config, names ...string) error { return checkHooks(cfg, names) }

// checkHooks returns an error naming the first unknown hook and listing the valid ones.
func checkHooks(cfg *Config, names []string) error {
	valid := make(map[string]bool)
	for _, n := range HookNames(cfg) {
		valid[n] = true
	}
	for _, n := range names {
		if !valid[n] {
			return fmt.Errorf("unknown hook %q: valid names are %s, %s, blocks.{0..%d}.{%s} and %s",
				n, HookEmbed, HookPosEmbed, cfg.NLayer-1, strings.Join(blockHooks, ","), HookNormalized)
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

// hooks is the graph-building side of hook names: at(name, x) records x when it is
// kept and applies a patch when one is registered. A nil *hooks does nothing.
type hooks struct {
	keep    map[string]bool
	kept    map[string]*Node
	patches map[string]*patchNode
}

type patchNode struct {
	op    PatchOp
	value *Node // broadcastable to the activation; nil for PatchZero
	mask  *Node // [seq] bool, true where the patch applies; nil = everywhere
}

func (h *hooks) at(name string, x *Node) *Node {
	if h == nil {
		return x
	}
	if p := h.patches[name]; p != nil {
		x = p.apply(x)
	}
	if h.keep[name] {
		h.kept[name] = x
	}
	return x
}

func (p *patchNode) apply(x *Node) *Node {
	var patched *Node
	switch p.op {
	case PatchZero:
		patched = ZerosLike(x)
	case PatchReplace:
		patched = broadcastTo(p.value, x)
	case PatchAdd:
		patched = Add(x, broadcastTo(p.value, x))
	}
	if p.mask == nil {
		return patched
	}
	// mask [seq] → [1, seq, 1] broadcast over batch and features.
	dims := x.Shape().Dimensions
	mask := BroadcastToDims(Reshape(p.mask, 1, dims[1], 1), dims...)
	return Where(mask, patched, x)
}

// broadcastTo expands v ([d], [seq, d] or [batch, seq, d]) to x's shape [batch, seq, d].
func broadcastTo(v, x *Node) *Node {
	v = ExpandLeftToRank(v, x.Rank())
	return BroadcastToShape(v, x.Shape())
}

// planKey identifies a compiled graph: which hooks are kept and how patches are shaped.
func planKey(logits LogitsMode, hidden bool, keep []string, patches []Patch) string {
	var b strings.Builder
	fmt.Fprintf(&b, "logits=%d;hidden=%t;keep=%s;", logits, hidden, strings.Join(keep, ","))
	for _, p := range patches {
		fmt.Fprintf(&b, "patch=%s/%s/%t", p.Hook, p.Op, p.Positions != nil)
		if p.Value != nil {
			fmt.Fprintf(&b, "/%v", p.Value.Shape)
		}
		b.WriteString(";")
	}
	return b.String()
}

// sortedUnique returns names sorted in forward order without duplicates.
func sortedUnique(cfg *Config, names []string) []string {
	order := make(map[string]int)
	for i, n := range HookNames(cfg) {
		order[n] = i
	}
	seen := make(map[string]bool)
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}
