package lensnb_test

import (
	"bytes"
	"encoding/csv"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

func maxAbs(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestTrace(t *testing.T) {
	m := tiny(t)
	plain, err := lensnb.NewTrace(m, "Are cats good?").Run()
	if err != nil {
		t.Fatal(err)
	}
	// Reading hooks never changes the output.
	tr := lensnb.NewTrace(m, "Are cats good?")
	saved := map[string]*lensnb.Saved{}
	for _, h := range lm.HookNames(m.Config) {
		saved[h] = tr.Save(h)
	}
	read, err := tr.Run()
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(plain.Logits(0).Data, read.Logits(0).Data); d != 0 {
		t.Errorf("saving hooks changed logits by %g", d)
	}
	// Patching a hook with its own value changes nothing.
	h := lm.BlockHook(1, "hook_resid_mid")
	same, err := lensnb.NewTrace(m, "Are cats good?").Replace(h, saved[h].Value()).Run()
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(plain.Logits(0).Data, same.Logits(0).Data); d > 1e-6 {
		t.Errorf("self-patch changed logits by %g", d)
	}
}

func TestExportJSONAndCSV(t *testing.T) {
	m := tiny(t)
	r, err := lensnb.Prompt(m, "Are \"cats\",\ngood?", lensnb.Options{TopK: 2, Target: lensnb.TokenID(922)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"schema_version": 1`, `"mode": "prompt"`, `"final_norm": true`, `"states"`, `"kl_to_final"`, `"rank_of_final"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	back, err := lensnb.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Cells[1][2].Top[0] != r.Cells[1][2].Top[0] || back.Columns[1].Token != r.Columns[1].Token {
		t.Error("JSON round trip changed a cell")
	}
	buf.Reset()
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(r.States)*len(r.Columns); len(recs) != want {
		t.Errorf("%d CSV records, want %d", len(recs), want)
	}
	if recs[0][0] != "state" || recs[1][0] != "embeddings" {
		t.Errorf("CSV header/first row: %v / %v", recs[0], recs[1])
	}
}

// TestTraceZeroMatchesReference: zeroing blocks.1.hook_attn_out through a Trace
// equals the reference's patched run downstream.
func TestTraceZeroMatchesReference(t *testing.T) {
	m := tiny(t)
	var ref struct {
		Logits [][]float64    `json:"logits"`
		Hooks  map[string]any `json:"hooks"`
	}
	ids, _ := m.Tokenizer.Encode("Are cats good?")
	reftest.Run(t, &ref, "forward", "--model", tinyDir, "--ids", reftest.IDs(ids), "--zero-attn-out", "1")
	ztr := lensnb.NewTrace(m, "Are cats good?")
	post := ztr.Save(lm.ResidPost(1))
	z, err := ztr.Zero(lm.BlockHook(1, "hook_attn_out")).Run()
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for p, row := range ref.Logits {
		for v, x := range row {
			worst = math.Max(worst, math.Abs(float64(z.Logits(0).Row(p)[v])-x))
		}
		for i, x := range ref.Hooks[lm.ResidPost(1)].([]any)[p].([]any) {
			worst = math.Max(worst, math.Abs(float64(post.Value().Row(p)[i])-x.(float64)))
		}
	}
	t.Logf("zeroed blocks.1.hook_attn_out via Trace: max |Go − reference| = %.2g", worst)
	if worst > 1e-4 {
		t.Errorf("patched trace differs from the reference by %g", worst)
	}
}

// TestTraceErrors runs without the reference: unknown hooks, bad positions, empty
// prompts.
func TestTraceErrors(t *testing.T) {
	m := tiny(t)
	if _, err := lensnb.NewTrace(m, "Hi").Zero("blocks.1.attn_out").Run(); err == nil || !strings.Contains(err.Error(), "valid names") {
		t.Errorf("unknown hook: %v", err)
	}
	if _, err := lensnb.NewTrace(m, "Hi").Zero(lm.HookEmbed, 9).Run(); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("bad position: %v", err)
	}
	if _, err := lensnb.NewTrace(m, "").Run(); err == nil || !strings.Contains(err.Error(), "empty prompt") {
		t.Errorf("empty prompt: %v", err)
	}
}

// TestTopTokens: the top-k of a logits row, with ties (lower id first), equals a
// full sort's, and the probabilities are the softmax's.
func TestTopTokens(t *testing.T) {
	m := tiny(t)
	row := make([]float32, m.Config.VocabSize)
	for i := range row {
		row[i] = float32((i * 7919) % 13) // 13 distinct values: ties everywhere
	}
	got := lensnb.TopTokens(m, row, 6)
	order := make([]int, len(row))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
	sum := 0.0
	for _, v := range row {
		sum += math.Exp(float64(v - 12))
	}
	for i, tp := range got {
		if tp.ID != order[i] {
			t.Errorf("top-%d is %d, a full sort says %d", i+1, tp.ID, order[i])
		}
		if want := math.Exp(float64(row[tp.ID]-12)) / sum; math.Abs(tp.Prob-want) > 1e-12 {
			t.Errorf("top-%d probability %g, want %g", i+1, tp.Prob, want)
		}
	}
	if len(lensnb.TopTokens(m, row, 0)) != 0 || len(lensnb.TopTokens(m, row[:3], 10)) != 3 {
		t.Error("k = 0 or k > len: wrong length")
	}
}
