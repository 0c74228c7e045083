package lensnb

// The lens's requests to a model held by a resident server (gpt2.Remote): each is
// answered on the server by the same function called in-process, so results and
// errors are the same either way. Functions built only on the model's runs (Trace,
// PatchSweep) need no request of their own: their runs are forwarded by gpt2.

import (
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lm"
)

type promptBatchArgs struct {
	Prompts [][]int
	Opts    Options
}

type generateArgs struct {
	Prompt    string
	NewTokens int
	Opts      Options
}

type fromGenerationArgs struct {
	Gen  *lm.Generation
	Opts Options
}

type compareArgs struct{ A, B LensSide }

type attributeArgs struct {
	IDs     []int
	Targets []int
}

type decodeArgs struct {
	X         *lm.Array
	FinalNorm bool
}

// call sends one request to the process holding m's weights.
func call[R any](m *gpt2.Model, method string, args any) (R, error) {
	var reply R
	err := m.Remote().Call(method, args, &reply)
	switch r := any(reply).(type) {
	case *Result:
		r.afterRemote()
	case []*Result:
		for _, x := range r {
			x.afterRemote()
		}
	}
	return reply, err
}

// afterRemote restores what gob does not carry: it sends an empty slice as nil,
// and a prompt lens has an empty, not a missing, list of generated tokens
// (JSON "[]", as in-process).
func (r *Result) afterRemote() {
	if r != nil && r.GeneratedIDs == nil {
		r.GeneratedIDs = []int{}
	}
}

// remote reports whether m's weights are in another process.
func remote(m *gpt2.Model) bool { return m != nil && m.Remote() != nil }

func init() {
	gpt2.RegisterRemote("lensnb.PromptBatch", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a promptBatchArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return PromptBatch(m, a.Prompts, a.Opts)
	})
	gpt2.RegisterRemote("lensnb.Generate", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a generateArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return Generate(m, a.Prompt, a.NewTokens, a.Opts)
	})
	gpt2.RegisterRemote("lensnb.FromGeneration", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a fromGenerationArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return FromGeneration(m, a.Gen, a.Opts)
	})
	gpt2.RegisterRemote("lensnb.Compare", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a compareArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return Compare(m, a.A, a.B)
	})
	gpt2.RegisterRemote("lensnb.AttributeIDs", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a attributeArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return AttributeIDs(m, a.IDs, a.Targets...)
	})
	gpt2.RegisterRemote("lensnb.DecodeLogits", func(m *gpt2.Model, decode func(any) error) (any, error) {
		var a decodeArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return DecodeLogits(m, a.X, a.FinalNorm)
	})
}
