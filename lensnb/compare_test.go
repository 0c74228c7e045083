package lensnb_test

import (
	"math"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lensnb"
)

func TestCompare(t *testing.T) {
	m := tiny(t)
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	// A lens compared with itself: all zero.
	same, err := lensnb.Compare(m, lensnb.LensSide{IDs: ids}, lensnb.LensSide{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	for s := range same.KL {
		for c := range same.KL[s] {
			if same.KL[s][c] > 1e-5 || same.JS[s][c] > 1e-5 || same.TV[s][c] > 1e-5 {
				t.Errorf("self-comparison %s/%d: KL %g JS %g TV %g", same.States[s], c, same.KL[s][c], same.JS[s][c], same.TV[s][c])
			}
		}
	}
	// With vs without ln_f: the final state agrees (both are the model's logits), the
	// others differ; KL(final-normed ‖ raw) matches the two lenses' own numbers.
	cmp, err := lensnb.Compare(m, lensnb.LensSide{IDs: ids}, lensnb.LensSide{IDs: ids, Opts: lensnb.Options{NoFinalNorm: true}})
	if err != nil {
		t.Fatal(err)
	}
	last := len(cmp.States) - 1
	for c := range cmp.Columns {
		if cmp.TV[last][c] > 1e-5 {
			t.Errorf("final state differs between decoders: TV %g", cmp.TV[last][c])
		}
		if cmp.TV[0][c] < 1e-3 {
			t.Errorf("embeddings decoded with and without ln_f should differ (TV %g)", cmp.TV[0][c])
		}
		for s := range cmp.States {
			if cmp.JS[s][c] > math.Ln2+1e-6 || cmp.TV[s][c] > 1+1e-6 {
				t.Errorf("out of range: JS %g TV %g", cmp.JS[s][c], cmp.TV[s][c])
			}
		}
	}
	// Two prompts: aligned by position, over the shorter one.
	other, _ := m.Tokenizer.Encode("Are dogs good? Yes")
	two, err := lensnb.Compare(m, lensnb.LensSide{IDs: ids}, lensnb.LensSide{IDs: other})
	if err != nil {
		t.Fatal(err)
	}
	if len(two.Columns) != len(ids) {
		t.Errorf("%d columns, want %d", len(two.Columns), len(ids))
	}
	if two.TV[1][0] > 1e-5 || two.TV[1][1] < 1e-4 {
		t.Errorf("position 0 is the same token in both prompts (TV %g); position 1 differs (TV %g)", two.TV[1][0], two.TV[1][1])
	}
	if _, err := lensnb.Compare(m, lensnb.LensSide{IDs: ids}, lensnb.LensSide{IDs: ids, Opts: lensnb.Options{NoEmbeddings: true}}); err == nil || !strings.Contains(err.Error(), "different states") {
		t.Errorf("mismatched states: %v", err)
	}
}
