package lensnb_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lensnb"
)

// tinyDir is the shared 2-layer fixture (random weights, real tokenizer), cached on disk.
var tinyDir string

var loadTiny = sync.OnceValues(func() (m *lensnb.Model, err error) {
	if tinyDir, err = fixture.Cached(fixture.Tiny()); err == nil {
		m, err = loadDir(tinyDir)
	}
	return m, err
})

// loadDir loads the model folder dir in this process, for the lens.
func loadDir(dir string) (*lensnb.Model, error) {
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	return engine.Wrap(m), nil
}

func tiny(t testing.TB) *lensnb.Model {
	t.Helper()
	m, err := loadTiny()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type refCell struct {
	TopkIDs        []int     `json:"topk_ids"`
	TopkProbs      []float64 `json:"topk_probs"`
	Entropy        float64   `json:"entropy"`
	KLToFinal      float64   `json:"kl_to_final"`
	RankOfFinal    int       `json:"rank_of_final"`
	FinalTop1Logit float64   `json:"final_top1_logit"`
	FinalProb      float64   `json:"final_prob"`
	NextID         *int      `json:"next_id"`
	NextProb       *float64  `json:"next_prob"`
	NextRank       *int      `json:"next_rank"`
	CrossEntropy   *float64  `json:"cross_entropy"`
	Top1IsNext     *bool     `json:"top1_is_next"`
	TargetProb     *float64  `json:"target_prob"`
	TargetRank     *int      `json:"target_rank"`
}

type refLens struct {
	States []string    `json:"states"`
	Cells  [][]refCell `json:"cells"`
}

// compare checks every cell against the reference and returns the largest error.
func compare(t *testing.T, got *lensnb.Result, want refLens) float64 {
	t.Helper()
	if fmt.Sprint(got.States) != fmt.Sprint(want.States) {
		t.Fatalf("states %v, reference %v", got.States, want.States)
	}
	worst := 0.0
	diff := func(a, b float64) { worst = math.Max(worst, math.Abs(a-b)) }
	for s := range want.Cells {
		if len(got.Cells[s]) != len(want.Cells[s]) {
			t.Fatalf("state %d: %d columns, reference %d", s, len(got.Cells[s]), len(want.Cells[s]))
		}
		for c, w := range want.Cells[s] {
			g := got.Cells[s][c]
			where := fmt.Sprintf("%s col %d", got.States[s], c)
			for i, id := range w.TopkIDs {
				if g.Top[i].ID != id {
					t.Errorf("%s: top-%d id %d, reference %d", where, i+1, g.Top[i].ID, id)
				}
				diff(g.Top[i].Prob, w.TopkProbs[i])
			}
			diff(g.Entropy, w.Entropy)
			diff(g.KLToFinal, w.KLToFinal)
			diff(g.FinalTopLogit, w.FinalTop1Logit)
			diff(g.FinalProb, w.FinalProb)
			if g.RankOfFinal != w.RankOfFinal {
				t.Errorf("%s: rank of final %d, reference %d", where, g.RankOfFinal, w.RankOfFinal)
			}
			if w.NextID == nil {
				if g.NextID != -1 {
					t.Errorf("%s: next id %d, reference none", where, g.NextID)
				}
			} else {
				if g.NextID != *w.NextID || g.NextRank != *w.NextRank || g.TopIsNext != *w.Top1IsNext {
					t.Errorf("%s: next %d rank %d top1 %t, reference %d %d %t", where, g.NextID, g.NextRank, g.TopIsNext, *w.NextID, *w.NextRank, *w.Top1IsNext)
				}
				diff(g.NextProb, *w.NextProb)
				diff(g.CrossEntropy, *w.CrossEntropy)
			}
			if w.TargetProb != nil {
				diff(g.TargetProb, *w.TargetProb)
				if g.TargetRank != *w.TargetRank {
					t.Errorf("%s: target rank %d, reference %d", where, g.TargetRank, *w.TargetRank)
				}
			}
		}
	}
	return worst
}

func TestPromptLensMatchesReference(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good? Cats are great.")
	target := 3797 // " cat"
	for _, c := range []struct {
		name string
		opts lensnb.Options
		args []string
	}{
		{"final norm", lensnb.Options{}, []string{"--final-norm", "true"}},
		{"raw states", lensnb.Options{NoFinalNorm: true}, []string{"--final-norm", "false"}},
		{"resid_mid and target", lensnb.Options{ResidMid: true, Target: lensnb.TokenID(target), TopK: 7},
			[]string{"--states", "all", "--target", fmt.Sprint(target), "--topk", "7"}},
		{"small chunks", lensnb.Options{ChunkRows: 5}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want refLens
			reftest.Run(t, &want, "lens", append([]string{"--model", tinyDir, "--ids", reftest.IDs(ids)}, c.args...)...)
			got, err := lensnb.PromptIDs(m, ids, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			w := compare(t, got, want)
			t.Logf("%d states × %d positions: max |Go − reference| = %.2g", len(got.States), len(got.Columns), w)
			if w > 1e-4 {
				t.Errorf("lens differs from the reference by %g", w)
			}
			// final_prob was compared for the final top-1 token inside and outside
			// each state's top-k.
			inside, outside := 0, 0
			for s := range got.Cells {
				for _, cell := range got.Cells[s] {
					if cell.RankOfFinal < got.TopK {
						inside++
					} else {
						outside++
					}
				}
			}
			if c.name == "final norm" && (inside == 0 || outside == 0) {
				t.Errorf("final_prob checked at %d cells inside and %d outside the top-k: want both", inside, outside)
			}
		})
	}
}

func TestGenerationLensMatchesReference(t *testing.T) {
	m := tiny(t)
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%t", raw), func(t *testing.T) {
			var want refLens
			reftest.Run(t, &want, "lens", "--model", tinyDir, "--ids", "8491,11875,922,30", "--generate", "10", "--final-norm", fmt.Sprint(!raw))
			got, err := lensnb.Generate(m, "Are cats good?", 10, lensnb.Options{NoFinalNorm: raw})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.States) != 3 || len(got.Columns) != 10 {
				t.Fatalf("%d states × %d columns", len(got.States), len(got.Columns))
			}
			w := compare(t, got, want)
			t.Logf("generation lens %d × %d: max |Go − reference| = %.2g", len(got.States), len(got.Columns), w)
			if w > 1e-4 {
				t.Errorf("differs from the reference by %g", w)
			}
		})
	}
}

// TestLensInvariants: the last state equals the model's own logits; the generation
// lens' first column equals the prompt lens' last position.
func TestLensInvariants(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	logits, _, err := m.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, true} {
		p, err := lensnb.PromptIDs(m, ids, lensnb.Options{NoFinalNorm: raw})
		if err != nil {
			t.Fatal(err)
		}
		last := p.Cells[len(p.Cells)-1]
		for pos, cell := range last {
			row := logits.Row(pos)
			for _, tp := range cell.Top {
				if float32(tp.Logit) != row[tp.ID] {
					t.Errorf("raw=%t pos %d: final lens logit %v for %d, model %v", raw, pos, tp.Logit, tp.ID, row[tp.ID])
				}
			}
			if cell.KLToFinal != 0 || cell.RankOfFinal != 0 {
				t.Errorf("final state: KL %g rank %d", cell.KLToFinal, cell.RankOfFinal)
			}
		}
		g, err := lensnb.Generate(m, "Are cats good?", 10, lensnb.Options{NoFinalNorm: raw})
		if err != nil {
			t.Fatal(err)
		}
		for s := range g.Cells {
			a, b := g.Cells[s][0], p.Cells[s][len(ids)-1]
			if a.Top[0].ID != b.Top[0].ID || math.Abs(a.Entropy-b.Entropy) > 1e-5 || math.Abs(a.KLToFinal-b.KLToFinal) > 1e-5 {
				t.Errorf("raw=%t state %s: generation column 0 %+v, prompt last %+v", raw, g.States[s], a.Top[0], b.Top[0])
			}
		}
	}
}

func TestStateSelection(t *testing.T) {
	spec := fixture.Tiny()
	spec.NLayer = 6
	dir := t.TempDir()
	if err := fixture.Write(dir, spec); err != nil {
		t.Fatal(err)
	}
	m, err := loadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		opts lensnb.Options
		want string
	}{
		{lensnb.Options{}, "[embeddings blocks.0 blocks.1 blocks.2 blocks.3 blocks.4 blocks.5]"},
		{lensnb.Options{Layers: []int{1, 3}, NoEmbeddings: true}, "[blocks.1 blocks.3 blocks.5]"},
		{lensnb.Options{Stride: 2}, "[embeddings blocks.0 blocks.2 blocks.4 blocks.5]"},
		{lensnb.Options{Layers: []int{2}, ResidMid: true}, "[embeddings blocks.2.resid_mid blocks.2 blocks.5.resid_mid blocks.5]"},
	}
	full, err := lensnb.Prompt(m, "Are cats good?", lensnb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		r, err := lensnb.Prompt(m, "Are cats good?", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(r.States); got != c.want {
			t.Errorf("states %s, want %s", got, c.want)
		}
		// Rows shared with the full lens agree: the same top-k up to float32 rounding
		// (a selection of fewer rows may take another matmul kernel, which adds in
		// another order), so a top-1 may change only between two tokens that tie.
		for s, name := range r.States {
			for fs, fname := range full.States {
				if name == fname {
					sameCell(t, name, r.Cells[s][2], full.Cells[fs][2])
				}
			}
		}
	}
}

func TestBatchLensEqualsSingle(t *testing.T) {
	m := tiny(t)
	var prompts [][]int
	for _, s := range []string{"Are cats good?", "The quick brown fox jumps over the lazy dog", "Аre"} {
		ids, _ := m.Tokenizer.Encode(s)
		prompts = append(prompts, ids)
	}
	batch, err := lensnb.PromptBatch(m, prompts, lensnb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range prompts {
		one, err := lensnb.PromptIDs(m, ids, lensnb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for s := range one.Cells {
			for c := range one.Cells[s] {
				a, b := one.Cells[s][c], batch[i].Cells[s][c]
				if a.Top[0].ID != b.Top[0].ID || math.Abs(a.Entropy-b.Entropy) > 1e-5 {
					t.Fatalf("prompt %d cell %d,%d differs in a batch", i, s, c)
				}
			}
		}
	}
}

func TestLensErrors(t *testing.T) {
	m := tiny(t)
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"empty prompt", func() error { _, err := lensnb.Prompt(m, "", lensnb.Options{}); return err }, "empty prompt"},
		{"k above vocabulary", func() error { _, err := lensnb.Prompt(m, "Hi", lensnb.Options{TopK: 60000}); return err }, "vocabulary"},
		{"bad layer", func() error { _, err := lensnb.Prompt(m, "Hi", lensnb.Options{Layers: []int{7}}); return err }, "does not exist"},
		{"bad target", func() error {
			_, err := lensnb.Prompt(m, "Hi", lensnb.Options{Target: lensnb.TokenID(-3)})
			return err
		}, "target"},
		{"resid_mid in generation", func() error {
			_, err := lensnb.Generate(m, "Hi", 2, lensnb.Options{ResidMid: true})
			return err
		}, "prompt lens only"},
		{"no new tokens", func() error { _, err := lensnb.Generate(m, "Hi", 0, lensnb.Options{}); return err }, "MaxNewTokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// sameCell fails unless a and b have the same top-k probabilities within 1e-5 and
// the same tokens, except that tokens whose probabilities tie within that may
// swap places.
func sameCell(t *testing.T, name string, a, b lensnb.Cell) {
	t.Helper()
	if len(a.Top) != len(b.Top) {
		t.Fatalf("%s: top-%d against top-%d", name, len(a.Top), len(b.Top))
	}
	for i := range a.Top {
		if d := math.Abs(a.Top[i].Prob - b.Top[i].Prob); d > 1e-5 {
			t.Errorf("%s: top-%d probability %.7f against %.7f", name, i+1, a.Top[i].Prob, b.Top[i].Prob)
			continue
		}
		if a.Top[i].ID == b.Top[i].ID {
			continue
		}
		tied := false
		for j := range b.Top {
			if b.Top[j].ID == a.Top[i].ID && math.Abs(b.Top[j].Prob-a.Top[i].Prob) <= 1e-5 {
				tied = true
			}
		}
		if !tied {
			t.Errorf("%s: top-%d is %d (p %.7f) against %d (p %.7f), not a tie", name, i+1, a.Top[i].ID, a.Top[i].Prob, b.Top[i].ID, b.Top[i].Prob)
		}
	}
}
