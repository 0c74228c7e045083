// Package static draws the logit lens's heatmap as a static picture, PNG or SVG,
// with gonum/plot's vector graphics: for reports, papers and notebooks that must
// show the picture without JavaScript. Package display decides what is drawn
// (display.PlanStatic); this package only lays it out, so that the programs that
// draw no static picture — most notebook cells — do not link gonum/plot.
package static

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

	"github.com/janpfeifer/gonb/gonbui"
	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
)

// Format is a static image format.
type Format string

const (
	PNG Format = "png"
	SVG Format = "svg"
)

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

// displayPNG shows a PNG in GoNB and waits until GoNB has it (see display.Show);
// replaceable in tests.
var displayPNG = func(png []byte) { gonbui.DisplayPNG(png); gonbui.Sync() }

// Show displays the static heatmap in GoNB: a PNG as an image output, an SVG as
// an <img> (which also survives HTML export).
func Show(r *lensnb.Result, o display.StaticOptions, format Format) error {
	im, err := Heatmap(r, o, format)
	if err != nil {
		return err
	}
	if format == PNG {
		displayPNG(im.Data)
		return nil
	}
	return display.Show(im)
}

// Save renders the static heatmap of r into path, as PNG or SVG by the file's
// extension (.png, .svg).
func Save(path string, r *lensnb.Result, o display.StaticOptions) error {
	f := Format(strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."))
	im, err := Heatmap(r, o, f)
	if err != nil {
		return err
	}
	return im.Save(path)
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

// Heatmap renders the logit-lens heatmap of r as a PNG or SVG: states as rows
// (embeddings at the bottom), columns labelled with their tokens at the bottom
// and the actual next token at the top (√ where the final layer's top-1 matches
// it), cells annotated with the top-1 token and/or value, and a colour bar. The
// same input gives byte-identical output. Spaces show as '·' and newlines as '¶'
// (the embedded fonts have no ␣ ↵).
func Heatmap(r *lensnb.Result, o display.StaticOptions, format Format) (*Image, error) {
	if format != PNG && format != SVG {
		return nil, fmt.Errorf("display: unknown image format %q (want png or svg)", format)
	}
	p, err := display.PlanStatic(r, o)
	if err != nil {
		return nil, err
	}
	return draw1(p, format)
}

// layout is where the parts of a plan go, in points (y grows upwards).
type layout struct {
	W, H, cellW, leftW, axisH, lineH float64
	annotate, vertical               bool
	step                             int
	colLabW                          vg.Length
	label, axis, title, caption      text.Style
}

const pad, gap, cbW = 10.0, 10.0, 12.0

// lay out p: the widths of the labels decide the margins, the cell width shrinks
// to keep the image under MaxWidth.
func lay(p *display.StaticPlan) layout {
	black, grey := color.Black, color.RGBA{85, 85, 85, 255}
	l := layout{cellW: p.CellWidth, label: textStyle(sansFont, p.FontSize, black), axis: textStyle(sansFont, p.FontSize, grey),
		title: textStyle(boldFont, p.FontSize+4, black), caption: textStyle(sansFont, p.FontSize, grey), step: 1}
	l.title.XAlign, l.caption.XAlign = draw.XLeft, draw.XLeft
	for _, s := range p.States {
		l.leftW = math.Max(l.leftW, float64(l.axis.Width(s)))
	}
	l.leftW += 8
	cbLabW := 0.0
	for _, t := range p.Ticks {
		cbLabW = math.Max(cbLabW, float64(l.axis.Width(t.Label)))
	}
	cbLabW += 6
	nC, nS := float64(len(p.Bottom)), float64(len(p.States))
	fixedW := 2*pad + l.leftW + gap + cbW + cbLabW
	if fixedW+nC*l.cellW > p.MaxWidth {
		l.cellW = math.Max(1, (p.MaxWidth-fixedW)/nC)
	}
	l.annotate = p.Cells != display.CellNone && l.cellW >= 18 && p.CellHeight >= p.FontSize+2
	// Column labels: horizontal when cells are wide enough, else rotated, every step-th.
	l.vertical = l.cellW < 24
	l.colLabW = vg.Length(l.cellW - 2)
	l.lineH = float64(l.axis.FontExtents().Height)
	l.axisH = l.lineH + 6
	if l.vertical {
		l.step = int(math.Ceil(l.lineH * 1.15 / l.cellW))
		l.colLabW = 80
		l.axisH = 86
	}
	titleH := float64(l.title.FontExtents().Height) + l.lineH + 10
	l.W = math.Ceil(fixedW + nC*l.cellW)
	l.H = math.Ceil(2*pad + titleH + 2*l.axisH + nS*p.CellHeight)
	return l
}

// draw1 draws plan p in format.
func draw1(p *display.StaticPlan, format Format) (*Image, error) {
	l := lay(p)
	var canvas vg.CanvasWriterTo
	switch format {
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(vg.Length(l.W), vg.Length(l.H)), vgimg.UseDPI(p.DPI),
			vgimg.UseBackgroundColor(color.White))}
	case SVG:
		canvas = vgsvg.New(vg.Length(l.W), vg.Length(l.H))
	}
	c := &pen{draw.New(canvas)}
	if format == SVG {
		c.rect(0, 0, l.W, l.H, color.White)
	}
	// Title and caption.
	y := l.H - pad
	c.put(l.title, pad, y-float64(l.title.FontExtents().Height)/2, fit(l.title, p.Title, vg.Length(l.W-2*pad)))
	c.put(l.caption, pad, y-float64(l.title.FontExtents().Height)-l.lineH/2-2, fit(l.caption, p.Caption, vg.Length(l.W-2*pad)))
	gx0, gy0 := pad+l.leftW, pad+l.axisH
	gy1 := gy0 + float64(len(p.States))*p.CellHeight
	drawCells(c, p, l, gx0, gy0)
	drawColumnLabels(c, p, l, gx0, gy0, gy1)
	drawColorBar(c, p, l, gx0+float64(len(p.Bottom))*l.cellW+gap, gy0, gy1)

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("display: encoding %s: %w", format, err)
	}
	im := &Image{Format: format, Data: buf.Bytes(), Title: p.Title}
	if format == PNG {
		im.Width, im.Height = int(math.Ceil(l.W*float64(p.DPI)/72)), int(math.Ceil(l.H*float64(p.DPI)/72))
	} else {
		im.Width, im.Height = int(l.W), int(l.H)
	}
	return im, nil
}

// pen draws filled rectangles and text.
type pen struct{ dc draw.Canvas }

func (c *pen) rect(x0, y0, x1, y1 float64, col color.Color) {
	c.dc.FillPolygon(col, []vg.Point{{X: vg.Length(x0), Y: vg.Length(y0)}, {X: vg.Length(x1), Y: vg.Length(y0)},
		{X: vg.Length(x1), Y: vg.Length(y1)}, {X: vg.Length(x0), Y: vg.Length(y1)}})
}

func (c *pen) put(sty text.Style, x, y float64, s string) {
	if s != "" {
		c.dc.FillText(sty, vg.Point{X: vg.Length(x), Y: vg.Length(y)}, s)
	}
}

// drawCells draws the rows: their labels, the cells and their annotations.
func drawCells(c *pen, p *display.StaticPlan, l layout, gx0, gy0 float64) {
	right := l.axis
	right.XAlign = draw.XRight
	cellH := p.CellHeight
	for s := range p.States {
		cy := gy0 + (float64(s)+0.5)*cellH
		c.put(right, gx0-4, cy, p.States[s])
		for col := range p.Bottom {
			x0 := gx0 + float64(col)*l.cellW
			c.rect(x0, gy0+float64(s)*cellH, x0+l.cellW, gy0+float64(s+1)*cellH, p.Fill[s][col])
			if !l.annotate {
				continue
			}
			sty := l.label
			sty.Color = p.Ink[s][col]
			tok := fit(sty, p.Token[s][col], vg.Length(l.cellW-3))
			val := fit(sty, p.Value[s][col], vg.Length(l.cellW-3))
			cx := x0 + l.cellW/2
			switch p.Cells {
			case display.CellToken:
				c.put(sty, cx, cy, tok)
			case display.CellValue:
				c.put(sty, cx, cy, val)
			case display.CellTokenValue:
				c.put(sty, cx, cy+l.lineH/2, tok)
				c.put(sty, cx, cy-l.lineH/2, val)
			}
		}
	}
}

// drawColumnLabels puts the input tokens below the grid and the next tokens above.
func drawColumnLabels(c *pen, p *display.StaticPlan, l layout, gx0, gy0, gy1 float64) {
	for col := 0; col < len(p.Bottom); col += l.step {
		cx := gx0 + (float64(col)+0.5)*l.cellW
		if l.vertical {
			b := l.axis
			b.Rotation, b.XAlign = math.Pi/2, draw.XRight
			c.put(b, cx, gy0-4, fit(b, p.Bottom[col], l.colLabW))
			t := l.axis
			t.Rotation, t.XAlign = math.Pi/2, draw.XLeft
			c.put(t, cx, gy1+4, fit(t, p.Top[col], l.colLabW))
			continue
		}
		c.put(l.axis, cx, gy0-l.axisH/2, fit(l.axis, p.Bottom[col], l.colLabW))
		c.put(l.axis, cx, gy1+l.axisH/2, fit(l.axis, p.Top[col], l.colLabW))
	}
}

// drawColorBar draws the colour bar at x, centred on the grid, and its ticks.
func drawColorBar(c *pen, p *display.StaticPlan, l layout, x, gy0, gy1 float64) {
	h := math.Min(gy1-gy0, 240)
	y0 := (gy0+gy1)/2 - h/2
	n := float64(len(p.Bar))
	for i, col := range p.Bar {
		c.rect(x, y0+h*float64(i)/n, x+cbW, y0+h*float64(i+1)/n+0.3, col)
	}
	tick := l.axis
	tick.XAlign = draw.XLeft
	grey := color.RGBA{85, 85, 85, 255}
	for _, t := range p.Ticks {
		ty := y0 + h*t.Pos
		c.rect(x+cbW, ty-0.4, x+cbW+3, ty+0.4, grey)
		c.put(tick, x+cbW+4, ty, t.Label)
	}
}
