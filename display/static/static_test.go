package static

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/internal/lenssample"
	"github.com/logitlens-go/logitlens/lensnb"
)

var SampleResult = lenssample.Result

type StaticOptions = display.StaticOptions

const CellValue = display.CellValue

func TestShow(t *testing.T) {
	var pngs [][]byte
	save := displayPNG
	defer func() { displayPNG = save }()
	displayPNG = func(b []byte) { pngs = append(pngs, b) }
	r := SampleResult(2, 3, false, 1)
	if err := Show(r, StaticOptions{}, PNG); err != nil {
		t.Fatal(err)
	}
	if len(pngs) != 1 || !bytes.HasPrefix(pngs[0], []byte("\x89PNG")) {
		t.Error("no PNG displayed")
	}
	im, err := Heatmap(r, StaticOptions{}, SVG)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := im.HTML(); !strings.Contains(h, "data:image/svg+xml;base64,") {
		t.Error("the SVG's HTML is not an inlined image")
	}
	if _, err := Heatmap(nil, StaticOptions{}, PNG); err == nil {
		t.Error("a nil result gave no error")
	}
}

func TestStatic(t *testing.T) {
	r := SampleResult(12, 20, true, 2)
	p1, err := Heatmap(r, StaticOptions{}, PNG)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := Heatmap(r, StaticOptions{}, PNG)
	if !bytes.Equal(p1.Data, p2.Data) {
		t.Error("PNG output differs between two renders")
	}
	img, err := png.Decode(bytes.NewReader(p1.Data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != p1.Width || b.Dy() != p1.Height || b.Dx() < 1200 || b.Dy() < 400 {
		t.Errorf("PNG is %v, Image says %d×%d", b, p1.Width, p1.Height)
	}
	// The top-right area holds the colour bar: not all white.
	s1, err := Heatmap(r, StaticOptions{}, SVG)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := Heatmap(r, StaticOptions{}, SVG)
	if !bytes.Equal(s1.Data, s2.Data) {
		t.Error("SVG output differs between two renders")
	}
	svg := string(s1.Data)
	if !strings.HasPrefix(svg, "<?xml") || !strings.Contains(svg, "<svg") {
		t.Fatal("not an SVG")
	}
	for _, bad := range []string{"<img", "<script", "<!--<", "\u2028"} {
		if strings.Contains(svg, bad) {
			t.Errorf("SVG contains %q", bad)
		}
	}
	for _, want := range []string{"blocks.11", "embeddings", "Logit lens: probability of the top-1 token",
		"&lt;/script&gt;&lt;img/src=&#34;x&#34;/onerror=&#34;window.__pwned=1;alert(1)&#34;&gt; · rows", "&lt;/script&gt;&lt;i…", "√ ", "·" + "the", `\xd0`, "{a|b}{c}"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Every top-1 token that fits is annotated (the fixture's tokens are short or cut with …).
	if n := strings.Count(svg, "<text"); n < 13*20 {
		t.Errorf("only %d texts in the SVG", n)
	}
	v, err := Heatmap(r, StaticOptions{Cells: CellValue, Metric: lensnb.MetricEntropy}, SVG)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(v.Data, s1.Data) {
		t.Error("a different metric gave the same SVG")
	}
	dir := t.TempDir()
	for _, name := range []string{"h.png", "h.svg"} {
		if err := Save(filepath.Join(dir, name), r, StaticOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "h.svg")); !bytes.Equal(b, s1.Data) {
		t.Error("SaveHeatmap wrote a different SVG")
	}
	if err := Save(filepath.Join(dir, "h.gif"), r, StaticOptions{}); err == nil {
		t.Error("a .gif path was accepted")
	}
	big, err := Heatmap(SampleResult(12, 1024, false, 1), StaticOptions{}, PNG)
	if err != nil {
		t.Fatal(err)
	}
	if big.Width > 4000*96/72+2 {
		t.Errorf("13×1024 PNG is %d px wide", big.Width)
	}
	h, _ := s1.HTML()
	if !strings.HasPrefix(h, `<div class="logitlens-image"><img alt="Logit lens: probability of the top-1 token"`) {
		t.Errorf("Image.HTML = %.120s", h)
	}
}
