package lensnb_test

import (
	"math"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

func softmaxKL(p, q []float32) float64 {
	lse := func(z []float32) float64 {
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, float64(v))
		}
		s := 0.0
		for _, v := range z {
			s += math.Exp(float64(v) - mx)
		}
		return mx + math.Log(s)
	}
	lp, lq := lse(p), lse(q)
	kl := 0.0
	for i := range p {
		a := float64(p[i]) - lp
		kl += math.Exp(a) * (a - float64(q[i]) + lq)
	}
	return kl
}

// TestPatchSweep: every cell of the batched sweep equals a single patched run
// through Trace; positions before the first differing token score 0 (the two runs
// agree there), and the last block's resid_post at the last position scores 1.
func TestPatchSweep(t *testing.T) {
	m := tiny(t)
	clean, corrupt := "Are cats good? I think", "Are dogs good? I think"
	cleanIDs, _ := m.Tokenizer.Encode(clean)
	corruptIDs, _ := m.Tokenizer.Encode(corrupt)
	last := len(cleanIDs) - 1
	for _, hook := range []string{"resid_pre", "attn_out", "mlp_out", "resid_post"} {
		p, err := lensnb.PatchSweep(m, clean, corrupt, lensnb.PatchOptions{Hook: hook})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Values) != m.Config.NLayer || len(p.Values[0]) != len(cleanIDs) {
			t.Fatalf("%s: %d × %d values", hook, len(p.Values), len(p.Values[0]))
		}
		name := func(l int) string { return lm.BlockHook(l, "hook_"+hook) }
		// Independent check: one Trace per cell.
		tc := lensnb.NewTraceIDs(m, corruptIDs)
		saved := make([]*lensnb.Saved, m.Config.NLayer)
		for l := range saved {
			saved[l] = tc.Save(name(l))
		}
		outC, err := tc.Run()
		if err != nil {
			t.Fatal(err)
		}
		outClean, err := lensnb.NewTraceIDs(m, cleanIDs).Run()
		if err != nil {
			t.Fatal(err)
		}
		corruptLast, cleanLast := outC.Logits(0).Row(last), outClean.Logits(0).Row(last)
		base := softmaxKL(corruptLast, cleanLast)
		for l := range saved {
			for pos := range cleanIDs {
				vec := saved[l].Value().Row(pos)
				out, err := lensnb.NewTraceIDs(m, cleanIDs).Replace(name(l), &lm.Array{Shape: []int{len(vec)}, Data: vec}, pos).Run()
				if err != nil {
					t.Fatal(err)
				}
				want := 1 - softmaxKL(corruptLast, out.Logits(0).Row(last))/base
				if d := math.Abs(p.Values[l][pos] - want); d > 1e-4 {
					t.Errorf("%s block %d position %d: sweep %g, single patched run %g", hook, l, pos, p.Values[l][pos], want)
				}
				if pos == 0 && math.Abs(p.Values[l][pos]) > 1e-6 {
					t.Errorf("%s block %d position 0 (the same token in both prompts): %g, want 0", hook, l, p.Values[l][pos])
				}
			}
		}
		if hook == "resid_post" {
			if v := p.Values[m.Config.NLayer-1][last]; math.Abs(v-1) > 1e-5 {
				t.Errorf("the last block's output at the last position scores %g, want 1", v)
			}
			// No later attention carries the last block's output at an earlier position.
			if v := p.Values[m.Config.NLayer-1][1]; math.Abs(v) > 1e-4 {
				t.Errorf("the last block's output at position 1 scores %g, want 0", v)
			}
		}
	}
	// A logit difference: the same exact endpoints.
	cats, dogs := cleanIDs[1], corruptIDs[1]
	p, err := lensnb.PatchSweep(m, clean, corrupt, lensnb.PatchOptions{Hook: "resid_post", Metric: lensnb.LogitDiff{Token: cats, Versus: dogs}})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Values[m.Config.NLayer-1][last]; math.Abs(v-1) > 1e-5 || math.Abs(p.Values[0][0]) > 1e-6 {
		t.Errorf("logit difference: last block, last position %g (want 1); position 0 %g (want 0)", v, p.Values[0][0])
	}
	if !strings.Contains(p.Metric, "logit difference") {
		t.Errorf("metric name %q", p.Metric)
	}
}

func TestPatchSweepErrors(t *testing.T) {
	m := tiny(t)
	cases := []struct {
		clean, corrupt string
		opts           lensnb.PatchOptions
		want           string
	}{
		{"Are cats good?", "Are cats very good?", lensnb.PatchOptions{}, "same length"},
		{"Are cats good?", "Are cats good?", lensnb.PatchOptions{}, "do not differ"},
		{"Are cats good?", "Are dogs good?", lensnb.PatchOptions{Hook: "attn"}, "unknown hook"},
		{"Are cats good?", "Are dogs good?", lensnb.PatchOptions{Metric: lensnb.LogitDiff{Token: 1, Versus: 50257}}, "outside the vocabulary"},
	}
	for _, c := range cases {
		if _, err := lensnb.PatchSweep(m, c.clean, c.corrupt, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q / %q %+v: got %v, want an error containing %q", c.clean, c.corrupt, c.opts, err, c.want)
		}
	}
}
