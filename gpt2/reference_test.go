package gpt2_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lm"
)

// maxDiff compares a Go array with a nested JSON array (any depth) from the reference.
func maxDiff(t *testing.T, what string, got []float32, want any) float64 {
	t.Helper()
	var flat []float64
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case float64:
			flat = append(flat, x)
		default:
			t.Fatalf("%s: unexpected JSON value %T", what, v)
		}
	}
	walk(want)
	if len(flat) != len(got) {
		t.Fatalf("%s: %d values, reference has %d", what, len(got), len(flat))
	}
	d := 0.0
	for i := range flat {
		d = math.Max(d, math.Abs(float64(got[i])-flat[i]))
	}
	return d
}

type refForward struct {
	Logits       any            `json:"logits"`
	HiddenStates []any          `json:"hidden_states"`
	Hooks        map[string]any `json:"hooks"`
}

// TestForwardMatchesReference compares logits, every hidden state and every hook with
// the float64 PyTorch reference on the same weights.
func TestForwardMatchesReference(t *testing.T) {
	m := tiny(t)
	const tol = 1e-4
	for _, prompt := range []string{"Are cats good?", "Аre cats good? The logit lens shows what every layer predicts next."} {
		ids, err := m.Tokenizer.Encode(prompt)
		if err != nil {
			t.Fatal(err)
		}
		var ref refForward
		reftest.Run(t, &ref, "forward", "--model", tinyDir, "--ids", reftest.IDs(ids))
		res, err := m.Run(ids, lm.RunOptions{HiddenStates: true, Keep: lm.HookNames(m.Config)})
		if err != nil {
			t.Fatal(err)
		}
		worst := map[string]float64{"logits": maxDiff(t, "logits", res.Logits.Data, ref.Logits)}
		for i, h := range res.HiddenStates {
			worst["hidden_states"] = math.Max(worst["hidden_states"], maxDiff(t, fmt.Sprint("hidden state ", i), h.Data, ref.HiddenStates[i]))
		}
		for _, name := range lm.HookNames(m.Config) {
			want, ok := ref.Hooks[name]
			if !ok {
				t.Fatalf("reference lacks hook %s", name)
			}
			worst["hooks"] = math.Max(worst["hooks"], maxDiff(t, name, res.Hooks[name].Data, want))
		}
		t.Logf("%d tokens: max |Go − reference|: logits %.2g, hidden states %.2g, hooks %.2g", len(ids), worst["logits"], worst["hidden_states"], worst["hooks"])
		for k, v := range worst {
			if v > tol {
				t.Errorf("%s differ from the reference by %g (> %g)", k, v, tol)
			}
		}
	}
}

// TestZeroAttnMatchesReference zeroes one block's attention output (activation
// patching) and compares everything downstream with the reference doing the same.
func TestZeroAttnMatchesReference(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	var ref refForward
	reftest.Run(t, &ref, "forward", "--model", tinyDir, "--ids", reftest.IDs(ids), "--zero-attn-out", "0")
	res, err := m.Run(ids, lm.RunOptions{HiddenStates: true,
		Patches: []lm.Patch{{Hook: lm.BlockHook(0, "hook_attn_out"), Op: lm.PatchZero}}})
	if err != nil {
		t.Fatal(err)
	}
	d := maxDiff(t, "logits", res.Logits.Data, ref.Logits)
	for i, h := range res.HiddenStates {
		d = math.Max(d, maxDiff(t, fmt.Sprint("hidden state ", i), h.Data, ref.HiddenStates[i]))
	}
	t.Logf("zeroed blocks.0.hook_attn_out: max |Go − reference| = %.2g", d)
	if d > 1e-4 {
		t.Errorf("patched run differs from the reference by %g", d)
	}
}

// TestGenerateMatchesReference: greedy KV-cache generation against the reference's
// full recomputation at every step (sequence, per-step hidden states and logits).
func TestGenerateMatchesReference(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	var ref struct {
		Sequences        []int   `json:"sequences"`
		StepHiddenStates [][]any `json:"step_hidden_states"`
		StepLogits       []any   `json:"step_logits"`
	}
	reftest.Run(t, &ref, "generate", "--model", tinyDir, "--ids", reftest.IDs(ids), "--max-length", "14", "--min-length", "14")
	gen, err := m.Generate(ids, lm.GenerateOptions{MaxLength: 14, MinLength: 14})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gen.Sequence) != fmt.Sprint(ref.Sequences) {
		t.Fatalf("greedy sequence %v, reference %v", gen.Sequence, ref.Sequences)
	}
	if len(gen.Steps) != len(ref.StepHiddenStates) || len(gen.Steps) != 10 {
		t.Fatalf("%d steps, reference %d, want 10", len(gen.Steps), len(ref.StepHiddenStates))
	}
	worst := 0.0
	for s, step := range gen.Steps {
		worst = math.Max(worst, maxDiff(t, "step logits", step.Logits, ref.StepLogits[s]))
		for l, h := range step.HiddenStates {
			worst = math.Max(worst, maxDiff(t, fmt.Sprintf("step %d state %d", s, l), h.Data, ref.StepHiddenStates[s][l]))
		}
	}
	t.Logf("generation: sequence equal (%v); max |Go − reference| over 10 steps × %d states and logits: %.2g", gen.Generated(), m.Config.NLayer+1, worst)
	if worst > 1e-4 {
		t.Errorf("generation differs from the reference by %g", worst)
	}
}
