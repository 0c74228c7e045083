package display

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/logitlens-go/logitlens/lensnb"
)

// Format is a static image format.
type Format string

const (
	PNG Format = "png"
	SVG Format = "svg"
)

// StaticOptions configures the static (PNG / SVG) heatmap. The zero value is a
// probability heatmap with top-1 tokens in the cells.
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

// Image is a rendered static image.
type Image struct {
	Format Format
	Data   []byte
	// Width and Height in pixels (PNG) or points (SVG).
	Width, Height int
	// Title, used as the <img> alt text.
	Title string
}

// HTML returns an <img> with the image inlined as a data URL (an SVG shown this
// way cannot run scripts).
func (im *Image) HTML() (string, error) {
	mime := "image/png"
	if im.Format == SVG {
		mime = "image/svg+xml"
	}
	return fmt.Sprintf("<div class=\"logitlens-image\"><img alt=\"%s\" width=\"%d\" height=\"%d\" style=\"max-width:100%%;height:auto\" src=\"data:%s;base64,%s\"></div>\n",
		html.EscapeString(im.Title), im.Width, im.Height, mime, base64.StdEncoding.EncodeToString(im.Data)), nil
}

// Save writes the image to path.
func (im *Image) Save(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, im.Data, 0o644)
}

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

func textStyle(f font.Font, size float64, c color.Color) text.Style {
	return text.Style{
		Color:   c,
		Font:    font.From(f, vg.Length(size)),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
}

// fit shortens s until it is at most w wide in style sty.
func fit(sty text.Style, s string, w vg.Length) string {
	if sty.Width(s) <= w {
		return s
	}
	runes := []rune(s)
	for n := len(runes) - 1; n > 0; n-- {
		t := string(runes[:n]) + "…"
		if sty.Width(t) <= w {
			return t
		}
	}
	return ""
}

// StaticHeatmap renders the logit-lens heatmap of r as a PNG or SVG with
// gonum/plot's vector graphics: states as rows (embeddings at the bottom),
// columns labelled with their tokens at the bottom and the actual next token at
// the top (√ where the final layer's top-1 matches it), cells annotated with the
// top-1 token and/or value, and a colour bar. The same input gives byte-identical
// output. Spaces show as '·' and newlines as '¶' (the embedded fonts have no ␣ ↵).
func StaticHeatmap(r *lensnb.Result, o StaticOptions, format Format) (*Image, error) {
	if format != PNG && format != SVG {
		return nil, fmt.Errorf("display: unknown image format %q (want png or svg)", format)
	}
	if err := checkResult(r); err != nil {
		return nil, err
	}
	m, err := metricOrDefault(o.Metric)
	if err != nil {
		return nil, err
	}
	info := infoOf(m)
	nS, nC := len(r.States), len(r.Columns)
	vals := make([][]float64, nS)
	for s := range vals {
		vals[s] = make([]float64, nC)
		for c := range vals[s] {
			vals[s][c] = metricValue(r, s, c, m)
		}
	}
	sc, err := newScale(m, o.Scale, vals)
	if err != nil {
		return nil, err
	}
	cellW, cellH := o.CellWidth, o.CellHeight
	if cellW <= 0 {
		cellW = 54
	}
	if cellH <= 0 {
		cellH = 20
	}
	if o.Cells == CellTokenValue && o.CellHeight <= 0 {
		cellH = 28
	}
	maxW := o.MaxWidth
	if maxW <= 0 {
		maxW = 4000
	}
	fs := o.FontSize
	if fs <= 0 {
		fs = 8
	}
	dpi := o.DPI
	if dpi <= 0 {
		dpi = 96
	}
	black := color.Black
	grey := color.RGBA{85, 85, 85, 255}
	labSty := textStyle(sansFont, fs, black)
	axisSty := textStyle(sansFont, fs, grey)
	titleSty := textStyle(boldFont, fs+4, black)
	titleSty.XAlign = draw.XLeft
	capSty := textStyle(sansFont, fs, grey)
	capSty.XAlign = draw.XLeft

	const pad, gap, cbW = 10.0, 10.0, 12.0
	states := make([]string, nS)
	leftW := 0.0
	for s, name := range r.States {
		states[s] = plainText(StateLabel(name))
		leftW = math.Max(leftW, float64(axisSty.Width(states[s])))
	}
	leftW += 8
	cbLabW := 0.0
	ticks := colorbarTicks(sc)
	for _, t := range ticks {
		cbLabW = math.Max(cbLabW, float64(axisSty.Width(formatValue(t, info))))
	}
	cbLabW += 6
	fixedW := 2*pad + leftW + gap + cbW + cbLabW
	if fixedW+float64(nC)*cellW > maxW {
		cellW = math.Max(1, (maxW-fixedW)/float64(nC))
	}
	annotate := o.Cells != CellNone && cellW >= 18 && cellH >= fs+2
	// Column labels: horizontal when cells are wide enough, else rotated, every step-th.
	vertical := cellW < 24
	step := 1
	colLabW := vg.Length(cellW - 2)
	lineH := float64(axisSty.FontExtents().Height)
	axisH := lineH + 6
	if vertical {
		step = int(math.Ceil(lineH * 1.15 / cellW))
		colLabW = 80
		axisH = 86
	}
	title := plainText(o.Title)
	if title == "" {
		title = lensName(r) + ": " + info.label
	}
	caption := tr("rows: states (embeddings at the bottom) · bottom: input tokens · top: actual next token (√ = final layer's top-1)",
		"строки: состояния (эмбеддинги внизу) · снизу: входные токены · сверху: настоящий следующий токен (√ — он же top-1 последнего состояния)")
	if r.Mode == "generate" {
		caption = tr("rows: states (embeddings at the bottom) · columns: generation steps · bottom/top: generated token (√ = final layer's top-1)",
			"строки: состояния (эмбеддинги внизу) · столбцы: шаги генерации · снизу и сверху: выбранный на шаге токен (√ — он же top-1 последнего состояния)")
	}
	if r.Model != "" {
		caption = plainText(r.Model) + " · " + caption
	}
	titleH := float64(titleSty.FontExtents().Height) + lineH + 10
	W := fixedW + float64(nC)*cellW
	H := 2*pad + titleH + 2*axisH + float64(nS)*cellH
	W, H = math.Ceil(W), math.Ceil(H)

	var canvas vg.CanvasWriterTo
	switch format {
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(vg.Length(W), vg.Length(H)), vgimg.UseDPI(dpi),
			vgimg.UseBackgroundColor(color.White))}
	case SVG:
		canvas = vgsvg.New(vg.Length(W), vg.Length(H))
	}
	dc := draw.New(canvas)
	rect := func(x0, y0, x1, y1 float64, c color.Color) {
		dc.FillPolygon(c, []vg.Point{{X: vg.Length(x0), Y: vg.Length(y0)}, {X: vg.Length(x1), Y: vg.Length(y0)},
			{X: vg.Length(x1), Y: vg.Length(y1)}, {X: vg.Length(x0), Y: vg.Length(y1)}})
	}
	put := func(sty text.Style, x, y float64, s string) {
		if s != "" {
			dc.FillText(sty, vg.Point{X: vg.Length(x), Y: vg.Length(y)}, s)
		}
	}
	if format == SVG {
		rect(0, 0, W, H, color.White)
	}

	// Title and caption (y grows upwards in vg).
	y := H - pad
	put(titleSty, pad, y-float64(titleSty.FontExtents().Height)/2, fit(titleSty, title, vg.Length(W-2*pad)))
	put(capSty, pad, y-float64(titleSty.FontExtents().Height)-lineH/2-2, fit(capSty, caption, vg.Length(W-2*pad)))

	gx0 := pad + leftW
	gy0 := pad + axisH
	gy1 := gy0 + float64(nS)*cellH
	missing := color.RGBA{217, 217, 217, 255}
	for s := range nS {
		cy := gy0 + (float64(s)+0.5)*cellH
		put(axisRight(axisSty), gx0-4, cy, states[s])
		for c := range nC {
			x0 := gx0 + float64(c)*cellW
			v := vals[s][c]
			bg := missing
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				bg = sc.color(v)
			}
			rect(x0, gy0+float64(s)*cellH, x0+cellW, gy0+float64(s+1)*cellH, bg)
			if !annotate {
				continue
			}
			sty := labSty
			sty.Color = textColorOn(bg)
			tok := ""
			if cell := &r.Cells[s][c]; len(cell.Top) > 0 {
				tok = fit(sty, visibleToken(cell.Top[0].Token, true), vg.Length(cellW-3))
			}
			val := fit(sty, formatValue(v, info), vg.Length(cellW-3))
			cx := x0 + cellW/2
			switch o.Cells {
			case CellToken:
				put(sty, cx, cy, tok)
			case CellValue:
				put(sty, cx, cy, val)
			case CellTokenValue:
				put(sty, cx, cy+lineH/2, tok)
				put(sty, cx, cy-lineH/2, val)
			}
		}
	}
	// Column labels: input tokens below, actual next tokens above.
	for c := 0; c < nC; c += step {
		cx := gx0 + (float64(c)+0.5)*cellW
		bottom := visibleToken(r.Columns[c].Token, true)
		top := nextLabel(r, c, true)
		if vertical {
			b := axisSty
			b.Rotation, b.XAlign = math.Pi/2, draw.XRight
			put(b, cx, gy0-4, fit(b, bottom, colLabW))
			t := axisSty
			t.Rotation, t.XAlign = math.Pi/2, draw.XLeft
			put(t, cx, gy1+4, fit(t, top, colLabW))
			continue
		}
		put(axisSty, cx, gy0-axisH/2, fit(axisSty, bottom, colLabW))
		put(axisSty, cx, gy1+axisH/2, fit(axisSty, top, colLabW))
	}
	// Colour bar.
	cbx := gx0 + float64(nC)*cellW + gap
	cbH := math.Min(gy1-gy0, 240)
	cby0 := (gy0+gy1)/2 - cbH/2
	const n = 64
	for i := range n {
		t := sc.min + (sc.max-sc.min)*(float64(i)+0.5)/n
		rect(cbx, cby0+cbH*float64(i)/n, cbx+cbW, cby0+cbH*float64(i+1)/n+0.3, sc.pal.At(sc.frac(t)))
	}
	tickSty := axisSty
	tickSty.XAlign = draw.XLeft
	for _, t := range ticks {
		ty := cby0 + cbH*(sc.tr(t)-sc.min)/(sc.max-sc.min)
		rect(cbx+cbW, ty-0.4, cbx+cbW+3, ty+0.4, grey)
		put(tickSty, cbx+cbW+4, ty, formatValue(t, info))
	}

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("display: encoding %s: %w", format, err)
	}
	im := &Image{Format: format, Data: buf.Bytes(), Title: title}
	if format == PNG {
		im.Width, im.Height = int(math.Ceil(W*float64(dpi)/72)), int(math.Ceil(H*float64(dpi)/72))
	} else {
		im.Width, im.Height = int(W), int(H)
	}
	return im, nil
}

func axisRight(s text.Style) text.Style {
	s.XAlign = draw.XRight
	return s
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

// SaveHeatmap renders the static heatmap of r into path, as PNG or SVG by the
// file's extension (.png, .svg).
func SaveHeatmap(path string, r *lensnb.Result, o StaticOptions) error {
	f := Format(strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."))
	im, err := StaticHeatmap(r, o, f)
	if err != nil {
		return err
	}
	return im.Save(path)
}
