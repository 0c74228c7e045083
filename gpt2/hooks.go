package gpt2

import (
	"fmt"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/logitlens-go/logitlens/lm"
)

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
	for i, n := range lm.HookNames(cfg) {
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
