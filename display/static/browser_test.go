package static

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/internal/browsercheck"
	"github.com/logitlens-go/logitlens/internal/lenssample"
)

// The static SVG of hostile tokens, in a page as display writes it, runs nothing
// in a real browser and loads nothing.
func TestBrowserHostileSVG(t *testing.T) {
	browsercheck.Need(t)
	svg, err := Heatmap(lenssample.Result(12, 20, true, 2), StaticOptions{}, SVG)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer // with a chart: the browser check waits for one
	chart := display.Heatmap(lenssample.Result(2, 3, false, 1), display.HeatmapOptions{})
	if err := display.WritePage(&buf, lenssample.HostileToken, chart, svg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hostile-svg.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	byName := browsercheck.Run(t, "", []browsercheck.Page{{Name: "hostile-svg", File: path, Height: 1200}})
	p, ok := byName["hostile-svg"]
	if !ok {
		t.Fatal("no verdict for the page")
	}
	browsercheck.CheckPage(t, p)
}
