package display

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/browsercheck"
	"github.com/logitlens-go/logitlens/lensnb"
)

// The browser test renders pages and opens them offline in headless Debian
// chromium through internal/browsercheck (scripts/browsercheck/check.js: node +
// playwright-core, installed by scripts/install-browser.sh), which also applies
// the judgements every page must pass; the page-specific ones are here. It is
// skipped when chromium, node or playwright-core is missing, unless CI=true.

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustHTML(t *testing.T, f Fragment) string {
	t.Helper()
	h, err := f.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// notebookPage wraps fragments the way a notebook output area would, after head.
func notebookPage(head string, frags ...string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>notebook</title>\n")
	b.WriteString(head)
	b.WriteString("</head><body>\n")
	for _, f := range frags {
		b.WriteString("<div class=\"output_area\"><div class=\"output_html rendered_html output_subarea\">\n")
		b.WriteString(f)
		b.WriteString("</div></div>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// fakeAMD plays Jupyter Notebook classic's RequireJS: a global define with
// define.amd that fails like RequireJS does on an anonymous define from a plain
// script, and records every call.
const fakeAMD = `<script>
window.__amdCalls = [];
window.define = function () {
  window.__amdCalls.push(Array.prototype.slice.call(arguments).map(function (a) { return typeof a; }).join(","));
  throw new Error("Mismatched anonymous define() module");
};
window.define.amd = { jQuery: true };
window.require = function () { window.__requireCalls = (window.__requireCalls || 0) + 1; };
</script>
`

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	root := browsercheck.Need(t) // skips (fails under CI=true) before rendering anything
	dir := t.TempDir()
	var pages []browsercheck.Page
	grid0 := 0

	// 1. A readable 13×20 heatmap page (what the CLI's --html writes), plus a
	// generation-mode heatmap drawn with the SVG renderer.
	plain := SampleResult(12, 20, false, 1)
	gen := SampleResult(12, 8, false, 6)
	gen.Mode = "generate"
	for c := range gen.Columns {
		gen.Columns[c].Token = gen.Columns[c].NextToken // generated tokens
	}
	hm := Heatmap(plain, HeatmapOptions{})
	hmGen := Heatmap(gen, HeatmapOptions{SVG: true, Cells: CellTokenValue, Metric: lensnb.MetricKL})
	var buf bytes.Buffer
	if err := WritePage(&buf, "logit lens 13×20", hm, hmGen); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, browsercheck.Page{Name: "heatmap-13x20", File: writeFile(t, filepath.Join(dir, "plain.html"), buf.String()),
		Hover: []browsercheck.Hover{{Chart: 0, X: 3, Y: 12, Screenshot: "hover"}, {Chart: 1, X: 2, Y: 5}}})

	// 2. Hostile tokens everywhere: heatmap, lines, top-k table (the static SVG's
	// own page is display/static's browser test).
	hostile := SampleResult(12, 20, true, 2)
	hostileHM := Heatmap(hostile, HeatmapOptions{Title: HostileToken})
	buf.Reset()
	if err := WritePage(&buf, HostileToken, hostileHM, Lines(hostile, LinesOptions{}), TopKTable(hostile, 12, 0)); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, browsercheck.Page{Name: "hostile", File: writeFile(t, filepath.Join(dir, "hostile.html"), buf.String()), Height: 1600,
		Hover: []browsercheck.Hover{{Chart: 0, X: 0, Y: 12, Screenshot: "hover"}, {Chart: 0, X: 3, Y: 0}, {Chart: 1, Grid: &grid0, X: 6, Y: 0.5}}})

	// 3. Jupyter Notebook classic: RequireJS's define.amd present, two inline fragments.
	nb1, nb2 := Heatmap(plain, HeatmapOptions{}), Heatmap(hostile, HeatmapOptions{Metric: lensnb.MetricEntropy})
	pages = append(pages, browsercheck.Page{Name: "notebook-fake-amd", File: writeFile(t, filepath.Join(dir, "amd.html"),
		notebookPage(fakeAMD, mustHTML(t, nb1), mustHTML(t, nb2))), Hover: []browsercheck.Hover{{Chart: 1, X: 0, Y: 3}}})

	// 3b. JupyterLab's way: the output HTML goes into a detached node with
	// innerHTML, its scripts are replaced by fresh ones (innerHTML does not run
	// them), and the node is attached afterwards.
	labFrags, _ := json.Marshal([]string{mustHTML(t, Heatmap(plain, HeatmapOptions{})), mustHTML(t, Lines(plain, LinesOptions{}))})
	labPage := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>lab</title></head><body><div id="lab"></div>
<script>
window.addEventListener("load", function () {
  var frags = ` + string(labFrags) + `;
  frags.forEach(function (f) {
    var host = document.createElement("div");
    host.className = "jp-OutputArea-output";
    host.innerHTML = f;
    host.querySelectorAll("script").forEach(function (old) {
      var s = document.createElement("script");
      s.textContent = old.textContent;
      old.parentNode.replaceChild(s, old);
    });
    document.getElementById("lab").appendChild(host);
  });
});
</script></body></html>
`
	pages = append(pages, browsercheck.Page{Name: "jupyterlab-like", File: writeFile(t, filepath.Join(dir, "lab.html"), labPage),
		Hover: []browsercheck.Hover{{Chart: 0, X: 1, Y: 12}}})

	// 4. The real RequireJS, when installed: inline, and CDN mode through require().
	requireJS := filepath.Join(root, "node_modules", "requirejs", "require.js")
	haveRequireJS := false
	if _, err := os.Stat(requireJS); err == nil {
		haveRequireJS = true
		rjsURL := "file://" + requireJS
		head := fmt.Sprintf("<script src=%q></script>\n", rjsURL)
		pages = append(pages, browsercheck.Page{Name: "notebook-requirejs", File: writeFile(t, filepath.Join(dir, "rjs.html"),
			notebookPage(head, mustHTML(t, Heatmap(plain, HeatmapOptions{})))), AllowRequests: []string{rjsURL}})
		localECharts := "file://" + filepath.Join(root, "display", "assets", "echarts.min.js")
		saved := CDNURL
		CDNURL = localECharts
		cdn := mustHTML(t, Heatmap(plain, HeatmapOptions{JS: JSCDN}))
		CDNURL = saved
		pages = append(pages, browsercheck.Page{Name: "notebook-requirejs-cdn", File: writeFile(t, filepath.Join(dir, "rjs-cdn.html"),
			notebookPage(head, cdn)), AllowRequests: []string{rjsURL, localECharts}})
	} else if os.Getenv("CI") == "true" {
		t.Errorf("CI=true but %s is missing (run scripts/install-browser.sh)", requireJS)
	}

	// 4b. CDN mode without RequireJS (a plain <script> element), served from a
	// local copy; and with the CDN unreachable, which must say so in the div.
	{
		localECharts := "file://" + filepath.Join(root, "display", "assets", "echarts.min.js")
		saved := CDNURL
		CDNURL = localECharts
		cdn := mustHTML(t, Heatmap(plain, HeatmapOptions{JS: JSCDN}))
		CDNURL = "https://cdn.invalid/echarts.min.js"
		offline := mustHTML(t, Heatmap(plain, HeatmapOptions{JS: JSCDN}))
		CDNURL = saved
		pages = append(pages,
			browsercheck.Page{Name: "cdn-script", File: writeFile(t, filepath.Join(dir, "cdn.html"), notebookPage("", cdn)),
				AllowRequests: []string{localECharts}},
			browsercheck.Page{Name: "cdn-offline", File: writeFile(t, filepath.Join(dir, "cdn-offline.html"), notebookPage("", offline))})
	}

	// 5. A long prompt: 13×1024 scrolls and zooms.
	long := SampleResult(12, 1024, false, 3)
	hmLong := Heatmap(long, HeatmapOptions{})
	longPage, err := hmLong.Page()
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, browsercheck.Page{Name: "heatmap-13x1024", File: writeFile(t, filepath.Join(dir, "long.html"), longPage),
		Hover: []browsercheck.Hover{{Chart: 0, X: 5, Y: 12}}})

	// 6. Direct logit attribution with hostile tokens: components × positions,
	// the bars at one position and the heads.
	attr := SampleAttribution(6, 4, 8, true, 4)
	buf.Reset()
	if err := WritePage(&buf, "attribution", AttributionHeatmap(attr, AttributionOptions{}), AttributionBars(attr, -1, AttributionOptions{}),
		HeadHeatmap(attr, -1, AttributionOptions{})); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, browsercheck.Page{Name: "attribution", File: writeFile(t, filepath.Join(dir, "attribution.html"), buf.String()), Height: 1400,
		Hover: []browsercheck.Hover{{Chart: 0, X: 0, Y: 5, Screenshot: "hover"}, {Chart: 2, X: 1, Y: 3}}})

	// 7. The notebooks' language: a Russian heatmap of hostile tokens and the
	// attribution heatmap, whose tooltips must speak Russian too.
	SetLanguage(Russian)
	ruHM, ruAttr := Heatmap(hostile, HeatmapOptions{}), AttributionHeatmap(attr, AttributionOptions{})
	SetLanguage(English)
	buf.Reset()
	if err := WritePage(&buf, "ru", ruHM, ruAttr); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, browsercheck.Page{Name: "russian", File: writeFile(t, filepath.Join(dir, "ru.html"), buf.String()), Height: 1400,
		Hover: []browsercheck.Hover{{Chart: 0, X: 3, Y: 12}, {Chart: 1, X: 0, Y: 5}}})

	byName := browsercheck.Run(t, "", pages)
	for _, pg := range pages {
		p := byName[pg.Name]
		if p.Name == "cdn-offline" { // judged below
			continue
		}
		// Every page: nothing ran that should not have, nothing left the machine,
		// every chart drawn, every hover showed a tooltip of text.
		browsercheck.CheckPage(t, p)
	}
	want := []string{"heatmap-13x20", "hostile", "notebook-fake-amd", "jupyterlab-like", "cdn-script", "cdn-offline", "heatmap-13x1024", "attribution", "russian"}
	if haveRequireJS {
		want = append(want, "notebook-requirejs", "notebook-requirejs-cdn")
	}
	for _, name := range want {
		if _, ok := byName[name]; !ok {
			t.Fatalf("no verdict for page %s", name)
		}
	}

	// 1. Labels, axes and the tooltip of the plain heatmap.
	p := byName["heatmap-13x20"]
	if len(p.Charts) != 2 {
		t.Fatalf("heatmap-13x20: %d charts", len(p.Charts))
	}
	c := p.Charts[0]
	drawn := map[string]bool{}
	for _, s := range c.DrawnTexts {
		drawn[s] = true
	}
	meta := hm.meta.(heatmapMeta)
	missing := 0
	for s := range meta.Labels {
		for _, l := range meta.Labels[s] {
			if !drawn[l] {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Errorf("heatmap-13x20: %d of %d cell labels were not drawn", missing, 13*20)
	}
	for _, s := range plain.States {
		if !drawn[s] {
			t.Errorf("heatmap-13x20: state %q not drawn", s)
		}
	}
	shown := 0
	for col := range plain.Columns {
		if drawn[VisibleToken(plain.Columns[col].Token)] {
			shown++
		}
	}
	if shown < 15 { // the long ones are cut with "..."
		t.Errorf("heatmap-13x20: only %d of 20 bottom axis tokens drawn in full", shown)
	}
	if len(c.XAxis) != 2 || len(c.XAxis[1]) != 20 || c.XAxis[1][3] != nextLabel(plain, 3, false) {
		t.Errorf("heatmap-13x20: axes %v", c.XAxis)
	}
	tip := p.Hovers[0].Tooltip
	if tip != nil {
		for _, tp := range plain.Cells[12][3].Top {
			if !strings.Contains(tip.Text, VisibleToken(tp.Token)) {
				t.Errorf("heatmap-13x20: tooltip lacks top-k token %q:\n%s", VisibleToken(tp.Token), tip.Text)
			}
		}
		for _, want := range []string{"blocks.11", "position 3", fmt.Sprintf("%.1f%%", 100*plain.Cells[12][3].Top[0].Prob)} {
			if !strings.Contains(tip.Text, want) {
				t.Errorf("heatmap-13x20: tooltip lacks %q:\n%s", want, tip.Text)
			}
		}
	}
	if c := p.Charts[0]; c.PaintedPixels < c.CanvasPixels/4 {
		t.Errorf("heatmap-13x20: only %d of %d pixels painted", c.PaintedPixels, c.CanvasPixels)
	}
	if g := p.Charts[1]; g.SVGNodes < 13*8 || len(g.XAxis) != 2 || g.XAxis[0][0] != VisibleToken(gen.Columns[0].Token) {
		t.Errorf("generate/SVG chart: %d svg nodes, axes %v", g.SVGNodes, g.XAxis)
	}

	// 2. Hostile tokens are shown as text.
	p = byName["hostile"]
	if len(p.Charts) != 2 {
		t.Fatalf("hostile: %d charts", len(p.Charts))
	}
	if tip := p.Hovers[0].Tooltip; tip != nil && !strings.Contains(tip.Text, VisibleToken(HostileToken)) {
		t.Errorf("hostile: tooltip does not show the token as text:\n%s", tip.Text)
	}
	if p.Charts[0].ZrRich != 0 {
		t.Errorf("hostile: %d texts were parsed as ECharts rich text", p.Charts[0].ZrRich)
	}
	braces := false
	for _, s := range p.Charts[0].DrawnTexts {
		braces = braces || strings.Contains(s, "{a|b}")
	}
	if !braces {
		t.Error("hostile: the {a|b}{c} token was not drawn literally")
	}
	if p.Charts[0].XAxis[0][0] != VisibleToken(HostileToken) {
		t.Errorf("hostile: axis token %q", p.Charts[0].XAxis[0][0])
	}
	if tip := p.Hovers[2].Tooltip; tip != nil && !strings.Contains(tip.Text, "blocks.5") {
		t.Errorf("hostile: lines tooltip:\n%s", tip.Text)
	}

	// 3. RequireJS present: the inline loader never called define.
	p = byName["notebook-fake-amd"]
	if len(p.AMDCalls) != 0 || string(p.RequireCalls) != "null" || len(p.Charts) != 2 {
		t.Errorf("notebook-fake-amd: define calls %q, require calls %s, %d charts", p.AMDCalls, p.RequireCalls, len(p.Charts))
	}

	p = byName["cdn-offline"]
	if len(p.Charts) != 1 || p.Charts[0].Ready || !strings.Contains(p.Charts[0].Text, "ECharts did not load") ||
		len(p.Blocked) != 1 || p.Pwned != nil {
		t.Errorf("cdn-offline: want a message in the div and one blocked request, got %+v", p)
	}
	if n := len(byName["jupyterlab-like"].Charts); n != 2 {
		t.Errorf("jupyterlab-like: %d charts drawn, want 2", n)
	}

	// 5. The long heatmap opened on a 20-column window with sliders.
	p = byName["heatmap-13x1024"]
	if c := p.Charts[0]; len(c.DataZoom) != 2 || len(c.XAxis[0]) != 1024 {
		t.Errorf("heatmap-13x1024: dataZoom %v, %d columns", c.DataZoom, len(c.XAxis[0]))
	}
	if tip := p.Hovers[0].Tooltip; tip != nil && !strings.Contains(tip.Text, "position 5") {
		t.Errorf("heatmap-13x1024: tooltip:\n%s", tip.Text)
	}

	// 6. The attribution charts drew, their tooltips name the component and show
	// the hostile token as text.
	p = byName["attribution"]
	if len(p.Charts) != 3 {
		t.Fatalf("attribution: %d charts", len(p.Charts))
	}
	if tip := p.Hovers[0].Tooltip; tip != nil {
		for _, want := range []string{attr.Components[5], "position 0", VisibleToken(attr.Tokens[0]), "direct contribution"} {
			if !strings.Contains(tip.Text, want) {
				t.Errorf("attribution: heatmap tooltip lacks %q:\n%s", want, tip.Text)
			}
		}
	}
	if tip := p.Hovers[1].Tooltip; tip != nil && !strings.Contains(tip.Text, "blocks.3") {
		t.Errorf("attribution: heads tooltip:\n%s", tip.Text)
	}
	attrDrawn := map[string]bool{}
	for _, s := range p.Charts[0].DrawnTexts {
		attrDrawn[s] = true
	}
	for _, name := range attr.Components {
		if !attrDrawn[name] {
			t.Errorf("attribution: row %q not drawn", name)
		}
	}

	// 7. Russian: the rows, the tooltips' words; the hostile tokens still text.
	p = byName["russian"]
	if len(p.Charts) != 2 {
		t.Fatalf("russian: %d charts", len(p.Charts))
	}
	ruDrawn := map[string]bool{}
	for _, s := range p.Charts[0].DrawnTexts {
		ruDrawn[s] = true
	}
	for _, want := range []string{"эмбеддинги", "блок 0", "блок 11"} {
		if !ruDrawn[want] {
			t.Errorf("russian: row %q not drawn", want)
		}
	}
	if tip := p.Hovers[0].Tooltip; tip != nil {
		for _, want := range []string{"блок 11", "позиция 3", "токен", "вероятность top-1 токена"} {
			if !strings.Contains(tip.Text, want) {
				t.Errorf("russian: heatmap tooltip lacks %q:\n%s", want, tip.Text)
			}
		}
		for _, bad := range []string{"position", "probability", "next"} {
			if strings.Contains(tip.Text, bad) {
				t.Errorf("russian: heatmap tooltip has the English %q:\n%s", bad, tip.Text)
			}
		}
	}
	if tip := p.Hovers[1].Tooltip; tip != nil {
		for _, want := range []string{"позиция 0", "прямой вклад", "логит в этой позиции", StateLabelIn(Russian, attr.Components[5])} {
			if !strings.Contains(tip.Text, want) {
				t.Errorf("russian: attribution tooltip lacks %q:\n%s", want, tip.Text)
			}
		}
	}
}

// StateLabelIn is StateLabel in language l (for tests that build expectations
// after the language was set back).
func StateLabelIn(l Language, name string) string {
	old := CurrentLanguage()
	SetLanguage(l)
	defer SetLanguage(old)
	return StateLabel(name)
}
