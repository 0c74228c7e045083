package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lensnb"
)

func familyModel(t *testing.T, spec fixture.Spec) *lensnb.Model {
	t.Helper()
	dir, err := fixture.Cached(spec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Wrap(m)
}

// The prompt lens of every family, with its own final norm recomputed per state
// and raw, agrees with the reference cell by cell (top-k, probabilities,
// entropy, KL, ranks); the generation lens, a traced patch, the direct logit
// attribution (its parts add up to the model's own logit, RMSNorm's without
// centring) and identity tuned-lens translators work on every family too.
func TestLensOnEveryFamily(t *testing.T) {
	reftest.Require(t)
	ids := []int{8491, 11875, 922, 30, 198, 464}
	for name, spec := range fixture.Families() {
		t.Run(name, func(t *testing.T) {
			m := familyModel(t, spec)
			for _, norm := range []bool{true, false} {
				r, err := lensnb.PromptIDs(m, ids, lensnb.Options{NoFinalNorm: !norm, TopK: 3})
				if err != nil {
					t.Fatal(err)
				}
				compareWithReference(t, m, r, ids, norm)
			}
			if _, err := lensnb.Generate(m, "Are cats good?", 4, lensnb.Options{}); err != nil {
				t.Fatalf("generation lens: %v", err)
			}
			a, err := lensnb.AttributeIDs(m, ids, 922, 30)
			if err != nil {
				t.Fatal(err)
			}
			last := len(ids) - 1
			sum := a.Bias[last]
			for c := range a.Components {
				sum += a.Direct[c][last]
			}
			comps := strings.Join(a.Components, " ")
			if math.Abs(sum-a.Logit[last]) > 1e-3 || !strings.Contains(comps, "blocks.1.mlp") || strings.Contains(comps, "pos_embed") {
				t.Errorf("attribution: components sum to %g, the logit difference is %g (%v)", sum, a.Logit[last], a.Components)
			}
			tr := lensnb.NewTraceIDs(m, ids)
			tr.Zero("blocks.0.hook_attn_out")
			if _, err := tr.Run(); err != nil {
				t.Fatalf("trace: %v", err)
			}
			tl, err := lensnb.NewTunedLens(m)
			if err != nil {
				t.Fatal(err)
			}
			tuned, err := lensnb.PromptIDs(m, ids, lensnb.Options{Tuned: tl, TopK: 3})
			logit, _ := lensnb.PromptIDs(m, ids, lensnb.Options{TopK: 3})
			if err != nil || tuned.Cells[1][2].Top[0].ID != logit.Cells[1][2].Top[0].ID || math.Abs(tuned.Cells[1][2].KLToFinal-logit.Cells[1][2].KLToFinal) > 1e-6 {
				t.Errorf("identity translators must read as the logit lens: %v", err)
			}
		})
	}
}

func compareWithReference(t *testing.T, m *lensnb.Model, r *lensnb.Result, ids []int, norm bool) {
	t.Helper()
	var ref struct {
		States []string `json:"states"`
		Cells  [][]struct {
			TopkIDs   []int     `json:"topk_ids"`
			TopkProbs []float64 `json:"topk_probs"`
			Entropy   float64   `json:"entropy"`
			KL        float64   `json:"kl_to_final"`
			Rank      int       `json:"rank_of_final"`
		} `json:"cells"`
	}
	fn := "false"
	if norm {
		fn = "true"
	}
	reftest.RunScript(t, &ref, "families_ref.py", "lens", "--model", m.Dir, "--ids", reftest.IDs(ids), "--final-norm", fn, "--topk", "3")
	if strings.Join(ref.States, " ") != strings.Join(r.States, " ") {
		t.Fatalf("states %v, reference %v", r.States, ref.States)
	}
	worst := 0.0
	for s := range r.Cells {
		for c, cell := range r.Cells[s] {
			want := ref.Cells[s][c]
			if cell.Top[0].ID != want.TopkIDs[0] || cell.RankOfFinal != want.Rank {
				t.Errorf("final norm %t, %s at %d: top-1 %d rank %d, reference %d %d", norm, r.States[s], c, cell.Top[0].ID, cell.RankOfFinal, want.TopkIDs[0], want.Rank)
			}
			worst = math.Max(worst, math.Abs(cell.Top[0].Prob-want.TopkProbs[0]))
			worst = math.Max(worst, math.Abs(cell.Entropy-want.Entropy))
			worst = math.Max(worst, math.Abs(cell.KLToFinal-want.KL))
		}
	}
	if worst > 1e-4 {
		t.Errorf("final norm %t: lens cells differ from the reference by up to %g", norm, worst)
	}
}

// The tuned lens trains on every family (RMSNorm or LayerNorm, tied or untied
// heads): its loss falls, and the trained translators read the states closer to
// the final distribution than the logit lens does on the training text.
func TestTunedLensTrainsOnEveryFamily(t *testing.T) {
	ids := make([]int, 0, 400)
	for i := 0; len(ids) < 400; i++ {
		ids = append(ids, []int{464, 3797, 3332, 319, 262, 2603, 13, 4231, 11875, 922, 30}[i%11])
	}
	for _, name := range []string{"llama gqa tied", "qwen3", "pythia parallel"} {
		t.Run(name, func(t *testing.T) {
			m := familyModel(t, fixture.Families()[name])
			tl, hist, err := lensnb.TrainTunedLens(m, ids, lensnb.TuneOptions{Steps: 30, Rows: 2, SeqLen: 16, LR: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			first, last := hist[0].Loss, hist[len(hist)-1].Loss
			if !(last < first) {
				t.Errorf("the tuned lens's loss went from %g to %g", first, last)
			}
			q, err := lensnb.CompareLenses(m, tl, [][]int{ids[:32]})
			if err != nil {
				t.Fatal(err)
			}
			if q[0].TunedKL >= q[0].LogitKL {
				t.Errorf("embeddings: tuned KL %g, logit KL %g", q[0].TunedKL, q[0].LogitKL)
			}
		})
	}
}
