package display

// The static heatmap as data. Drawing it (PNG, SVG) needs gonum/plot, which is a
// large part of a program's binary, so it is in package display/static: a
// notebook cell that draws no static picture does not link it. Everything but
// the geometry of text — labels, colours, annotations, the colour bar — is
// decided here, from the same helpers as the interactive heatmap.

import (
	"fmt"
	"image/color"
	"math"

	"github.com/logitlens-go/logitlens/lensnb"
)

// StaticOptions configures the static (PNG / SVG) heatmap (package display/static).
// The zero value is a probability heatmap with top-1 tokens in the cells.
type StaticOptions struct {
	// Metric colours the cells (see HeatmapOptions.Metric); default MetricProb.
	Metric lensnb.Metric
	// Scale sets the colour scale (min, midpoint, max, palette).
	Scale ScaleOptions
	// Title replaces the default title.
	Title string
	// Cells chooses the annotation: CellToken (default), CellValue, CellTokenValue
	// or CellNone. Cells too small for text get none.
	Cells CellText
	// CellWidth and CellHeight in points (defaults 54 and 20); very wide results
	// get narrower cells so the image stays under MaxWidth.
	CellWidth, CellHeight float64
	// MaxWidth of the image in points (default 4000).
	MaxWidth float64
	// FontSize of the annotations in points (default 8).
	FontSize float64
	// DPI of the PNG (default 96: one point is 4/3 pixel).
	DPI int
}

// CellTokenValue shows the top-1 token and the metric's value (two lines).
const CellTokenValue CellText = 3

// StaticPlan is a static heatmap as data: rows bottom (embeddings) first, and the
// options with their defaults filled in.
type StaticPlan struct {
	Title, Caption string
	// States are the row labels; Bottom and Top the column labels (input tokens
	// below, the actual next token above, with √ where the final layer agrees).
	States, Bottom, Top []string
	// Fill[s][c] is a cell's colour, Ink[s][c] its text's; Token and Value its
	// annotations (the top-1 token as shown in static images, and the value).
	Fill, Ink    [][]color.RGBA
	Token, Value [][]string
	Cells        CellText
	// Bar is the colour bar, bottom first; Ticks its labelled values, each at
	// Pos (0 at the bottom, 1 at the top).
	Bar   []color.RGBA
	Ticks []StaticTick

	CellWidth, CellHeight, MaxWidth, FontSize float64
	DPI                                       int
}

// StaticTick is a labelled value of the colour bar.
type StaticTick struct {
	Pos   float64
	Label string
}

// PlanStatic decides the static heatmap of r with o.
func PlanStatic(r *lensnb.Result, o StaticOptions) (*StaticPlan, error) {
	if err := checkResult(r); err != nil {
		return nil, err
	}
	m, err := metricOrDefault(o.Metric)
	if err != nil {
		return nil, err
	}
	info := infoOf(m)
	nC := len(r.Columns)
	vals := metricGrid(r, m)
	sc, err := newScale(m, o.Scale, vals)
	if err != nil {
		return nil, err
	}
	p := &StaticPlan{Cells: o.Cells, CellWidth: o.CellWidth, CellHeight: o.CellHeight, MaxWidth: o.MaxWidth, FontSize: o.FontSize, DPI: o.DPI}
	if p.CellWidth <= 0 {
		p.CellWidth = 54
	}
	if p.CellHeight <= 0 {
		p.CellHeight = 20
		if o.Cells == CellTokenValue {
			p.CellHeight = 28
		}
	}
	if p.MaxWidth <= 0 {
		p.MaxWidth = 4000
	}
	if p.FontSize <= 0 {
		p.FontSize = 8
	}
	if p.DPI <= 0 {
		p.DPI = 96
	}
	p.Title = plainText(o.Title)
	if p.Title == "" {
		p.Title = lensName(r) + ": " + info.label
	}
	p.Caption = tr("rows: states (embeddings at the bottom) · bottom: input tokens · top: actual next token (√ = final layer's top-1)",
		"строки: состояния (эмбеддинги внизу) · снизу: входные токены · сверху: настоящий следующий токен (√ — он же top-1 последнего состояния)")
	if r.Mode == "generate" {
		p.Caption = tr("rows: states (embeddings at the bottom) · columns: generation steps · bottom/top: generated token (√ = final layer's top-1)",
			"строки: состояния (эмбеддинги внизу) · столбцы: шаги генерации · снизу и сверху: выбранный на шаге токен (√ — он же top-1 последнего состояния)")
	}
	if r.Model != "" {
		p.Caption = plainText(r.Model) + " · " + p.Caption
	}
	missing := color.RGBA{217, 217, 217, 255}
	for s, name := range r.States {
		p.States = append(p.States, plainText(StateLabel(name)))
		fill, ink := make([]color.RGBA, nC), make([]color.RGBA, nC)
		tok, val := make([]string, nC), make([]string, nC)
		for c := range nC {
			v := vals[s][c]
			fill[c] = missing
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				fill[c] = sc.color(v)
			}
			ink[c] = textColorOn(fill[c])
			if cell := &r.Cells[s][c]; len(cell.Top) > 0 {
				tok[c] = visibleToken(cell.Top[0].Token, true)
			}
			val[c] = formatValue(v, info)
		}
		p.Fill, p.Ink, p.Token, p.Value = append(p.Fill, fill), append(p.Ink, ink), append(p.Token, tok), append(p.Value, val)
	}
	for c := range nC {
		p.Bottom = append(p.Bottom, visibleToken(r.Columns[c].Token, true))
		p.Top = append(p.Top, nextLabel(r, c, true))
	}
	const steps = 64
	for i := range steps {
		t := sc.min + (sc.max-sc.min)*(float64(i)+0.5)/steps
		p.Bar = append(p.Bar, sc.pal.At(sc.frac(t)))
	}
	for _, t := range colorbarTicks(sc) {
		p.Ticks = append(p.Ticks, StaticTick{Pos: (sc.tr(t) - sc.min) / (sc.max - sc.min), Label: formatValue(t, info)})
	}
	return p, nil
}

// colorbarTicks returns the colour bar's tick values (metric units): min, mid,
// max and the quarter points, or powers of ten for log scales.
func colorbarTicks(sc *scale) []float64 {
	var out []float64
	if sc.log {
		for p := 0.0; p <= sc.max+1e-9; p++ {
			if p >= sc.min-1e-9 {
				out = append(out, math.Pow(10, p)-1)
			}
		}
		hi := math.Round(sc.untr(sc.max))
		if len(out) == 0 || hi > out[len(out)-1]*1.5+1 {
			out = append(out, hi)
		}
		if lo := math.Round(sc.untr(sc.min)); out[0] > lo {
			out = append([]float64{lo}, out...)
		}
		return out
	}
	seen := map[string]bool{}
	for _, t := range []float64{sc.min, (sc.min + sc.mid) / 2, sc.mid, (sc.mid + sc.max) / 2, sc.max} {
		k := fmt.Sprintf("%.6g", t)
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}
