package display

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lensnb"
)

// SampleAttribution is a synthetic, internally consistent attribution over cols
// positions of a model with layers blocks and heads heads (hostile: hostile tokens).
func SampleAttribution(layers, heads, cols int, hostile bool, seed uint64) *lensnb.Attribution {
	rng := rand.New(rand.NewPCG(seed, 11))
	words := plainWords
	if hostile {
		words = append(append([]string{}, hostileTokens...), plainWords...)
	}
	a := &lensnb.Attribution{Model: "sample", Token: 6342, TokenText: " Paris", Versus: 10598, VersusText: " Rome",
		Components: []string{"embed", "pos_embed"}}
	for t := 0; t < cols; t++ {
		a.InputIDs = append(a.InputIDs, t)
		a.Tokens = append(a.Tokens, words[t%len(words)])
		a.Bias = append(a.Bias, 0.25)
		a.Scale = append(a.Scale, 1+rng.Float64())
	}
	row := func() []float64 {
		v := make([]float64, cols)
		for t := range v {
			v[t] = rng.NormFloat64()
		}
		return v
	}
	a.Direct = [][]float64{row(), row()}
	for i := 0; i < layers; i++ {
		hs := make([][]float64, heads)
		hb := row()
		attn := append([]float64(nil), hb...)
		for h := range hs {
			hs[h] = row()
			for t := range attn {
				attn[t] += hs[h][t]
			}
		}
		a.Heads, a.HeadBias = append(a.Heads, hs), append(a.HeadBias, hb)
		a.Components = append(a.Components, fmt.Sprintf("blocks.%d.attn", i), fmt.Sprintf("blocks.%d.mlp", i))
		a.Direct = append(a.Direct, attn, row())
	}
	a.Logit = make([]float64, cols)
	for t := range a.Logit {
		a.Logit[t] = a.Bias[t]
		for c := range a.Direct {
			a.Logit[t] += a.Direct[c][t]
		}
	}
	return a
}

func TestAttributionCharts(t *testing.T) {
	a := SampleAttribution(4, 3, 6, true, 1)
	hm := AttributionHeatmap(a, AttributionOptions{})
	if err := hm.Err(); err != nil {
		t.Fatal(err)
	}
	meta := hm.meta.(matrixMeta)
	if len(meta.Rows) != 2+2*4 || len(meta.Cols) != 6 || meta.Cols[0] != VisibleToken(a.Tokens[0]) {
		t.Errorf("heatmap rows %v, columns %v", meta.Rows, meta.Cols)
	}
	// The colour scale is symmetric around zero and covers every value.
	vm := asList(hm.option["visualMap"])[0]
	lo, hi := vm["min"].(float64), vm["max"].(float64)
	for _, row := range a.Direct {
		for _, v := range row {
			if v < lo-1e-6 || v > hi+1e-6 {
				t.Fatalf("value %g outside the colour scale [%g, %g]", v, lo, hi)
			}
		}
	}
	if lo != -hi {
		t.Errorf("colour scale [%g, %g] is not centred on zero", lo, hi)
	}
	h, err := hm.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, HostileToken) || !strings.Contains(h, "logit difference") {
		t.Errorf("heatmap HTML: hostile token unescaped or title missing")
	}

	heads := HeadHeatmap(a, -1, AttributionOptions{})
	if err := heads.Err(); err != nil {
		t.Fatal(err)
	}
	hmeta := heads.meta.(matrixMeta)
	if len(hmeta.Rows) != 4 || len(hmeta.Cols) != 3 || hmeta.Values[2][1] != a.Heads[2][1][5] {
		t.Errorf("head heatmap: rows %v, cols %v, [2][1] = %v, want %v", hmeta.Rows, hmeta.Cols, hmeta.Values[2][1], a.Heads[2][1][5])
	}

	bars := AttributionBars(a, 2, AttributionOptions{})
	if err := bars.Err(); err != nil {
		t.Fatal(err)
	}
	bmeta := bars.meta.(barsMeta)
	if n := len(bmeta.Names); n != len(a.Components)+2 || bmeta.Names[n-1] != "= logit" || bmeta.Values[n-1] != a.Logit[2] {
		t.Errorf("bars: %v %v", bmeta.Names, bmeta.Values)
	}
	sum := 0.0
	for _, v := range bmeta.Values[:len(bmeta.Values)-1] {
		sum += v
	}
	if d := sum - a.Logit[2]; d > 1e-9 || d < -1e-9 {
		t.Errorf("bars: the parts add up to %g, the logit bar is %g", sum, a.Logit[2])
	}
}

func TestAttributionChartErrors(t *testing.T) {
	a := SampleAttribution(2, 2, 3, false, 2)
	bad := *a
	bad.Direct = bad.Direct[:1]
	cases := []struct {
		name string
		c    *Chart
		want string
	}{
		{"nil", AttributionHeatmap(nil, AttributionOptions{}), "empty or inconsistent"},
		{"inconsistent", AttributionHeatmap(&bad, AttributionOptions{}), "inconsistent"},
		{"position past the end", AttributionBars(a, 3, AttributionOptions{}), "outside the prompt"},
		{"heads position", HeadHeatmap(a, -4, AttributionOptions{}), "outside the prompt"},
		{"negative max", AttributionHeatmap(a, AttributionOptions{Max: -1}), "positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.c.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
			if _, err := c.c.HTML(); err == nil {
				t.Error("HTML of a failed chart succeeded")
			}
		})
	}
}

// TestLinesFinalProbEverywhere: the "probability of the final top-1 token" panel has
// a point for every state, also where that token is outside the state's top-k
// (lensnb computes it exactly; display only draws).
func TestLinesFinalProbEverywhere(t *testing.T) {
	r := SampleResult(12, 20, false, 9)
	outside := 0
	for s := range r.Cells {
		for c := range r.Cells[s] {
			if r.Cells[s][c].RankOfFinal >= 5 {
				outside++
			}
		}
	}
	if outside == 0 {
		t.Fatal("the sample has no cell whose final top-1 is outside its top-5")
	}
	ch := Lines(r, LinesOptions{Metrics: []lensnb.Metric{MetricFinalProb}})
	if err := ch.Err(); err != nil {
		t.Fatal(err)
	}
	series := asList(ch.Option()["series"])
	if len(series) == 0 {
		t.Fatal("no series")
	}
	for _, sr := range series {
		for i, d := range sr["data"].([]any) {
			if m, ok := d.(map[string]any); d == nil || (ok && m["value"] == nil) {
				t.Errorf("series %v: no point for state %d", sr["name"], i)
			}
		}
	}
}

func TestPatchHeatmap(t *testing.T) {
	p := &lensnb.Patching{Tokens: []string{"Are", " cats", HostileToken}, Hook: "resid_pre", Metric: "KL share",
		Values: [][]float64{{0, 0.2, 0.9}, {0, 0.1, 1}}}
	c := PatchHeatmap(p, AttributionOptions{})
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	meta := c.meta.(matrixMeta)
	if len(meta.Rows) != 2 || meta.Rows[1] != "blocks.1.resid_pre" || meta.Cols[2] != VisibleToken(HostileToken) || !strings.Contains(meta.ValueLabel, "effect") {
		t.Errorf("rows %v, cols %v, label %q", meta.Rows, meta.Cols, meta.ValueLabel)
	}
	if h, err := c.HTML(); err != nil || strings.Contains(h, HostileToken) {
		t.Errorf("HTML: %v, or the hostile token unescaped", err)
	}
	if err := PatchHeatmap(&lensnb.Patching{Tokens: []string{"a"}}, AttributionOptions{}).Err(); err == nil {
		t.Error("an empty sweep drew")
	}
}
