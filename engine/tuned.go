package engine

// Reading states through a tuned lens's translators (lensnb.TunedLens; training
// is in tune.go).

import (
	"errors"
	"fmt"

	"github.com/logitlens-go/logitlens/internal/lensmath"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// errTunedNoNorm is the tuned lens asked for without ln_f.
var errTunedNoNorm = errors.New("lens: the tuned lens reads through ln_f: do not set NoFinalNorm with Tuned")

// translatorOf returns the translator index of a lens state, or -1 for the final
// state (read as is).
func translatorOf(cfg *lm.Config, name string) (int, error) {
	if name == "embeddings" {
		return 0, nil
	}
	var i int
	if _, err := fmt.Sscanf(name, "blocks.%d", &i); err == nil && name == fmt.Sprintf("blocks.%d", i) {
		if i == cfg.NLayer-1 {
			return -1, nil
		}
		return i + 1, nil
	}
	return 0, fmt.Errorf("tuned lens: state %s has no translator (the tuned lens reads the embeddings and the blocks' outputs; turn ResidMid off)", name)
}

// translate applies tl's translators to states [state][column][d] (new slices;
// the inputs are not changed). A nil tl is the logit lens: states as they are.
func translate(tl *lensnb.TunedLens, cfg *lm.Config, specs []stateSpec, states [][][]float32) ([][][]float32, error) {
	if tl == nil {
		return states, nil
	}
	out := make([][][]float32, len(states))
	d := tl.D
	for s, spec := range specs {
		k, err := translatorOf(cfg, spec.name)
		if err != nil {
			return nil, err
		}
		if k < 0 {
			out[s] = states[s]
			continue
		}
		w, b := tl.W[k], tl.B[k]
		out[s] = make([][]float32, len(states[s]))
		lensmath.ParallelRows(len(states[s]), func(c int) {
			h := states[s][c]
			y := make([]float32, d)
			for r := 0; r < d; r++ {
				row := w[r*d : (r+1)*d]
				var acc float32
				for j, x := range h {
					acc += row[j] * x
				}
				y[r] = h[r] + acc + b[r]
			}
			out[s][c] = y
		})
	}
	return out, nil
}
