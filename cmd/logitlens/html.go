package main

import (
	"fmt"
	"io"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
)

// writeHTML writes a standalone page: the interactive heatmap (probability of each
// state's top-1 token, the token in each cell, top-k on hover) and the per-position
// line charts. The chart library is inlined, so the page works offline.
func writeHTML(w io.Writer, r *lensnb.Result) error {
	title := fmt.Sprintf("Logit lens — %s (%s, final_norm=%t)", r.Model, r.Mode, r.FinalNorm)
	parts := []display.Fragment{display.Heatmap(r, display.HeatmapOptions{}), display.Lines(r, display.LinesOptions{})}
	if a := r.Attribution; a != nil {
		parts = append(parts,
			display.AttributionHeatmap(a, display.AttributionOptions{}),
			display.AttributionBars(a, -1, display.AttributionOptions{}),
			display.HeadHeatmap(a, -1, display.AttributionOptions{}))
	}
	return display.WritePage(w, title, parts...)
}
