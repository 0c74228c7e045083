package display_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// exampleResult is a tiny hand-made lens result: "The cat sat" through the
// embeddings and two blocks. In a notebook it comes from the lens instead.
func exampleResult() *lensnb.Result {
	tp := func(id int, tok string, p float64) lensnb.TokenProb {
		return lensnb.TokenProb{ID: id, Token: tok, Prob: p, Logit: 10 * p}
	}
	cell := func(top ...lensnb.TokenProb) lensnb.Cell {
		return lensnb.Cell{Top: top, Entropy: 1 - top[0].Prob, NextID: -1, NextRank: -1}
	}
	r := &lensnb.Result{
		Model: "gpt2", Mode: "prompt", TopK: 2, Target: -1,
		States: []string{"embeddings", "blocks.0", "blocks.1"},
		Columns: []lensnb.Column{
			{ID: 464, Token: "The", Position: 0, NextID: 3797, NextToken: " cat"},
			{ID: 3797, Token: " cat", Position: 1, NextID: 3332, NextToken: " sat"},
			{ID: 3332, Token: " sat", Position: 2, NextID: -1},
		},
		Cells: [][]lensnb.Cell{
			{cell(tp(464, "The", 0.3), tp(11, ",", 0.1)), cell(tp(3797, " cat", 0.2), tp(11, ",", 0.1)), cell(tp(3332, " sat", 0.2), tp(13, ".", 0.1))},
			{cell(tp(383, " first", 0.4), tp(3797, " cat", 0.2)), cell(tp(338, "'s", 0.3), tp(3332, " sat", 0.2)), cell(tp(319, " on", 0.5), tp(13, ".", 0.1))},
			{cell(tp(3797, " cat", 0.6), tp(383, " first", 0.1)), cell(tp(3332, " sat", 0.7), tp(338, "'s", 0.1)), cell(tp(319, " on", 0.8), tp(866, " down", 0.1))},
		},
	}
	for s := range r.Cells {
		for c := range r.Columns {
			r.Cells[s][c].NextID = r.Columns[c].NextID
		}
	}
	return r
}

// A probability heatmap, shown inline in GoNB (display.Show does nothing
// elsewhere) and written as a standalone page.
func ExampleHeatmap() {
	r := exampleResult()
	chart := display.Heatmap(r, display.HeatmapOptions{})
	if err := display.Show(chart); err != nil { // in a GoNB cell: the interactive chart
		fmt.Println(err)
	}
	html, err := chart.HTML() // the same fragment, e.g. for other notebook kernels
	fmt.Println(err, strings.Contains(html, `id="`+chart.ID()+`"`))
	var page bytes.Buffer
	err = chart.WritePage(&page) // what the CLI's --html writes
	fmt.Println(err, strings.HasPrefix(page.String(), "<!DOCTYPE html>"))
	// Output:
	// <nil> true
	// <nil> true
}

// Entropy instead of probability, with the palette's midpoint at 0.5 nats and
// the cells showing values; ECharts from the CDN to keep the output small.
func ExampleHeatmap_options() {
	chart := display.Heatmap(exampleResult(), display.HeatmapOptions{
		Metric: lensnb.MetricEntropy,
		Scale:  display.ScaleOptions{Min: display.Float(0), Mid: display.Float(0.5), Max: display.Float(1)},
		Cells:  display.CellValue,
		JS:     display.JSCDN,
	})
	vm := chart.Option()["visualMap"].([]any)[0].(map[string]any)
	fmt.Println(chart.Err(), chart.Title, vm["min"], vm["max"])
	// Output:
	// <nil> Logit lens: entropy (nats) 0 1
}

// Per-position curves over the layers, one panel per metric.
func ExampleLines() {
	chart := display.Lines(exampleResult(), display.LinesOptions{
		Metrics: []lensnb.Metric{lensnb.MetricEntropy, lensnb.MetricRankOfFinal},
		Columns: []int{0, 1},
	})
	for _, s := range chart.Option()["series"].([]any) {
		fmt.Println(s.(map[string]any)["name"])
	}
	// Output:
	// 0: The → ␣cat
	// 1: ␣cat → ␣sat
	// 0: The → ␣cat
	// 1: ␣cat → ␣sat
}

func ExampleVisibleToken() {
	for _, tok := range []string{" cats", "\n", "\t", "", "\xd0"} {
		fmt.Println(display.VisibleToken(tok))
	}
	// Output:
	// ␣cats
	// ↵
	// ⇥
	// ∅
	// \xd0
}

// The top-k of one cell (the last block at position 1) as a table.
func ExampleTopKTable() {
	t := display.TopKTable(exampleResult(), 2, 1)
	fmt.Println(t.Caption)
	for _, row := range t.Rows {
		fmt.Println(row)
	}
	// Output:
	// blocks.1 · position 1 · token ␣cat → next ␣sat
	// [1 ␣sat  ✓ 3332 7.00 70.00%]
	// [2 's 338 1.00 10.00%]
}

// The model card (gpt2.Model.Summary) as an HTML table.
func ExampleSummaryTable() {
	s := lm.NewSummary(&lm.Config{NLayer: 12, NHead: 12, NEmbd: 768, NPositions: 1024, VocabSize: 50257}, 4)
	t := display.SummaryTable(s)
	fmt.Println(t.Footer)
	// Output:
	// [[Total params (torchinfo count)  163,037,184] [Unique params  124,439,808]]
}

// Several parts in one notebook output, and in one page.
func ExampleShow() {
	r := exampleResult()
	parts := []display.Fragment{
		display.Heatmap(r, display.HeatmapOptions{}),
		display.Lines(r, display.LinesOptions{}),
		display.TopKTable(r, 2, 0),
	}
	fmt.Println(display.Show(parts...))
	fmt.Println(display.WritePage(&bytes.Buffer{}, "The cat sat", parts...))
	// Output:
	// <nil>
	// <nil>
}
