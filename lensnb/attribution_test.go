package lensnb_test

import (
	"math"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// TestAttributionSumsToLogit: every position's contributions plus the bias term
// are the model's own logit (as Run computes it), for one token and for a logit
// difference; the heads plus c_proj's bias are their block's attention row.
func TestAttributionSumsToLogit(t *testing.T) {
	m := tiny(t)
	prompt := "The capital of France is the city of"
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		t.Fatal(err)
	}
	run, err := m.Run(ids, lm.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	paris, rome := 6342, 10598 // " Paris", " Rome"
	for _, tokens := range [][]string{{" Paris"}, {" Paris", " Rome"}} {
		a, err := lensnb.Attribute(m, prompt, tokens...)
		if err != nil {
			t.Fatal(err)
		}
		if a.Token != paris || (len(tokens) == 2) != (a.Versus == rome) {
			t.Fatalf("tokens %q resolved to %d / %d, want %d / %d", tokens, a.Token, a.Versus, paris, rome)
		}
		worst := 0.0
		for pos := range ids {
			want := float64(run.Logits.Row(pos)[paris])
			if len(tokens) == 2 {
				want -= float64(run.Logits.Row(pos)[rome])
			}
			sum := a.Bias[pos]
			for c := range a.Components {
				sum += a.Direct[c][pos]
			}
			worst = math.Max(worst, math.Abs(sum-want))
			worst = math.Max(worst, math.Abs(a.Logit[pos]-want))
			for i := range a.Heads {
				heads := a.HeadBias[i][pos]
				for h := range a.Heads[i] {
					heads += a.Heads[i][h][pos]
				}
				if d := math.Abs(heads - a.Direct[2+2*i][pos]); d > 1e-4 {
					t.Errorf("%q, position %d, block %d: heads + bias = %g, the attention row = %g", tokens, pos, i, heads, a.Direct[2+2*i][pos])
				}
			}
		}
		t.Logf("%q: max |Σ contributions + bias − model logit| = %.2g", tokens, worst)
		if worst > 1e-4 {
			t.Errorf("%q: the contributions miss the model's logit by %g", tokens, worst)
		}
		run, err := a.RunningSum(-1)
		if err != nil {
			t.Fatal(err)
		}
		// The lens at each state is the running sum rescaled by σ_final/σ_state.
		last := len(ids) - 1
		for s := range run {
			got := (a.Lens[s][last] - a.Bias[last]) * a.StateScale[s][last]
			want := (run[s] - a.Bias[last]) * a.Scale[last]
			if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("%q, state %d: (lens − bias)·σ_state = %g, (running sum − bias)·σ_final = %g", tokens, s, got, want)
			}
		}
		if len(run) != m.Config.NLayer+1 || math.Abs(run[len(run)-1]-a.Logit[len(ids)-1]) > 1e-5 {
			t.Errorf("RunningSum(-1) = %v, want %d entries ending at the logit %g", run, m.Config.NLayer+1, a.Logit[len(ids)-1])
		}
	}
}

// TestAttributionMatchesReference compares every component, head and bias term with
// the float64 PyTorch reference (TransformerLens's apply_ln_to_stack route).
func TestAttributionMatchesReference(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("The capital of France is the city of")
	for _, versus := range []int{-1, 10598} {
		args := []string{"--model", tinyDir, "--ids", reftest.IDs(ids), "--target", "6342"}
		targets := []int{6342}
		if versus >= 0 {
			args = append(args, "--versus", "10598")
			targets = append(targets, versus)
		}
		var ref struct {
			Components []string      `json:"components"`
			Direct     [][]float64   `json:"direct"`
			Bias       []float64     `json:"bias"`
			Logit      []float64     `json:"logit"`
			Heads      [][][]float64 `json:"heads"`
			HeadBias   [][]float64   `json:"head_bias"`
			Scale      []float64     `json:"scale"`
		}
		reftest.Run(t, &ref, "dla", args...)
		a, err := lensnb.AttributeIDs(m, ids, targets...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(a.Components, ",") != strings.Join(ref.Components, ",") {
			t.Fatalf("components %v, reference %v", a.Components, ref.Components)
		}
		worst := map[string]float64{}
		note := func(what string, got, want float64) {
			worst[what] = math.Max(worst[what], math.Abs(got-want))
		}
		for pos := range ids {
			for c := range a.Components {
				note("components", a.Direct[c][pos], ref.Direct[c][pos])
			}
			note("bias", a.Bias[pos], ref.Bias[pos])
			note("logit", a.Logit[pos], ref.Logit[pos])
			note("scale", a.Scale[pos], ref.Scale[pos])
			for i := range a.Heads {
				note("head bias", a.HeadBias[i][pos], ref.HeadBias[i][pos])
				for h := range a.Heads[i] {
					note("heads", a.Heads[i][h][pos], ref.Heads[i][h][pos])
				}
			}
		}
		t.Logf("versus %d: max |Go − reference| %v", versus, worst)
		for what, d := range worst {
			if d > 1e-4 {
				t.Errorf("versus %d: %s differ from the reference by %g", versus, what, d)
			}
		}
	}
}

func TestAttributionErrors(t *testing.T) {
	m := tiny(t)
	cases := []struct {
		name   string
		run    func() error
		wanted string
	}{
		{"several tokens", func() error { _, err := lensnb.Attribute(m, "Are cats good?", " Parisian dream"); return err }, "not one"},
		{"no token", func() error { _, err := lensnb.Attribute(m, "Are cats good?"); return err }, "give one token"},
		{"three tokens", func() error { _, err := lensnb.AttributeIDs(m, []int{1, 2}, 3, 4, 5); return err }, "not 3"},
		{"unknown id", func() error { _, err := lensnb.AttributeIDs(m, []int{1, 2}, 50257); return err }, "outside the vocabulary"},
		{"same tokens", func() error { _, err := lensnb.AttributeIDs(m, []int{1, 2}, 7, 7); return err }, "the same"},
		{"empty prompt", func() error { _, err := lensnb.AttributeIDs(m, nil, 7); return err }, "empty prompt"},
		{"position past the prompt", func() error {
			a, err := lensnb.AttributeIDs(m, []int{1, 2}, 7)
			if err != nil {
				return err
			}
			_, err = a.Position(2)
			return err
		}, "outside the prompt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.wanted) {
				t.Errorf("got %v, want an error containing %q", err, c.wanted)
			}
		})
	}
}
