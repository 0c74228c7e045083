package exercises

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
)

// Patching is the result of an activation-patching sweep: the model reads the
// clean prompt, but the output of one block at one position is taken from a run
// on the corrupted prompt; the sweep does this for every block in turn and
// measures how far the prediction at the last position moves towards the
// corrupted run's.
type Patching struct {
	Clean, Corrupt []int // token ids, of equal length
	Position       int   // the patched position
	// KL is KL(corrupted ‖ clean) of the next-token distributions at the last
	// position: how different the two runs' predictions are.
	KL float64
	// Share[l] = 1 − KL(corrupted ‖ patched at block l) / KL: 0 when patching
	// block l's output changes nothing, 1 when it makes the clean run predict
	// exactly what the corrupted run predicts.
	Share []float64
}

// PatchSweep runs the sweep for the two prompts, which must have the same number
// of tokens, patching position (0-based) after every block.
func PatchSweep(m *gpt2.Model, clean, corrupt string, position int) (*Patching, error) {
	if m == nil {
		return nil, errors.New("patching: no model")
	}
	p := &Patching{Position: position}
	var err error
	if p.Clean, err = m.Tokenizer.Encode(clean); err != nil {
		return nil, err
	}
	if p.Corrupt, err = m.Tokenizer.Encode(corrupt); err != nil {
		return nil, err
	}
	if len(p.Clean) != len(p.Corrupt) {
		return nil, fmt.Errorf("patching: %q has %d tokens and %q has %d: choose prompts of the same length in tokens", clean, len(p.Clean), corrupt, len(p.Corrupt))
	}
	if position < 0 || position >= len(p.Clean) {
		return nil, fmt.Errorf("patching: position %d is outside the prompt (0…%d)", position, len(p.Clean)-1)
	}
	last := len(p.Clean) - 1

	tr := lensnb.NewTraceIDs(m, p.Corrupt)
	saved := make([]*lensnb.Saved, m.Config.NLayer)
	for l := range saved {
		saved[l] = tr.Save(gpt2.ResidPost(l))
	}
	out, err := tr.Run()
	if err != nil {
		return nil, err
	}
	want := Softmax(out.Logits(0).Row(last))
	out, err = lensnb.NewTraceIDs(m, p.Clean).Run()
	if err != nil {
		return nil, err
	}
	p.KL = KL(want, Softmax(out.Logits(0).Row(last)))
	if p.KL < 1e-9 {
		return nil, fmt.Errorf("patching: the model predicts the same after %q and %q: nothing to trace", clean, corrupt)
	}
	for l := range saved {
		vec := saved[l].Value().Row(position)
		value := &gpt2.Array{Shape: []int{len(vec)}, Data: append([]float32(nil), vec...)}
		out, err := lensnb.NewTraceIDs(m, p.Clean).Replace(gpt2.ResidPost(l), value, position).Run()
		if err != nil {
			return nil, err
		}
		p.Share = append(p.Share, 1-KL(want, Softmax(out.Logits(0).Row(last)))/p.KL)
	}
	return p, nil
}

// String is a text table: one row per block, with a bar for the share.
func (p *Patching) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "KL(испорченный ‖ чистый) = %.4f; позиция %d\n", p.KL, p.Position)
	for l, s := range p.Share {
		n := int(math.Round(30 * math.Max(0, math.Min(1, s))))
		fmt.Fprintf(&b, "блок %2d  %6.3f  %s\n", l, s, strings.Repeat("█", n))
	}
	return b.String()
}

// Softmax turns logits into probabilities (in float64, stable for large logits).
func Softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, z := range logits {
		mx = math.Max(mx, float64(z))
	}
	p := make([]float64, len(logits))
	sum := 0.0
	for i, z := range logits {
		p[i] = math.Exp(float64(z) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// KL is the Kullback–Leibler divergence KL(p ‖ q) in nats.
func KL(p, q []float64) float64 {
	kl := 0.0
	for i := range p {
		if p[i] > 0 {
			kl += p[i] * (math.Log(p[i]) - math.Log(math.Max(q[i], 1e-300)))
		}
	}
	return math.Max(0, kl)
}

// EnvLargeModel names the environment variable with the model that
// notebooks/03 tries on a GPU; LargeModel returns it (default "gpt2-xl").
const EnvLargeModel = "LOGITLENS_LARGE_MODEL"

// LargeModel is the model to try on a GPU: $LOGITLENS_LARGE_MODEL, else gpt2-xl
// (1.5 billion parameters, the size nostalgebraist's logit lens post looked at).
func LargeModel() string {
	if s := strings.TrimSpace(os.Getenv(EnvLargeModel)); s != "" {
		return s
	}
	return "gpt2-xl"
}
