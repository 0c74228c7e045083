package engine

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lm"
)

// decodeLogits projects hidden states x [seq, n_embd] onto the vocabulary: through
// ln_f first when finalNorm is set (statistics computed from x), then the tied
// lm_head. It returns logits [seq, vocab] — the logit lens of one state.
func decodeLogits(m *gpt2.Model, x *lm.Array, finalNorm bool) (*lm.Array, error) {
	if len(x.Shape) != 2 || x.Shape[1] != m.Config.NEmbd {
		return nil, fmt.Errorf("decode: hidden states must be [seq, %d], got %v", m.Config.NEmbd, x.Shape)
	}
	exec, err := m.Exec(fmt.Sprintf("decode:norm=%t:seq=%d", finalNorm, x.Shape[0]), func(scope *model.Scope, in []*Node) []*Node {
		h := in[0]
		if finalNorm {
			h = m.FinalNorm(scope, h)
		}
		return []*Node{m.Unembed(scope, h)}
	})
	if err != nil {
		return nil, err
	}
	outs, err := exec.Call(tensors.FromFlatDataAndDimensions(x.Data, x.Shape...))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	data, err := tensors.CopyFlatData[float32](outs[0])
	if err != nil {
		return nil, err
	}
	return &lm.Array{Shape: outs[0].Shape().Dimensions, Data: data}, nil
}
