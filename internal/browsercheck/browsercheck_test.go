package browsercheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Errorf calls instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func goodPage() PageResult {
	return PageResult{
		Name: "good",
		Charts: []ChartResult{
			{ID: "a", Ready: true, Instance: true, CanvasPixels: 1000, PaintedPixels: 300},
			{ID: "b", Ready: true, Instance: true, SVGNodes: 40},
		},
		Hovers:       []HoverResult{{Tooltip: &Tooltip{Text: "blocks.1 position 3"}}},
		RequireCalls: []byte("null"),
	}
}

func TestCheckPage(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		name   string
		mutate func(p *PageResult)
		want   string // "" = passes
	}{
		{"good", func(p *PageResult) {}, ""},
		{"pwned", func(p *PageResult) { p.Pwned = s("1") }, "window.__pwned=1"},
		{"dialog", func(p *PageResult) { p.Dialogs = []string{"alert: 1"} }, "a token ran code"},
		{"injected", func(p *PageResult) { p.Injected = 1 }, "injected elements=1"},
		{"page error", func(p *PageResult) { p.PageErrors = []string{"boom"} }, "page errors"},
		{"console error", func(p *PageResult) { p.ConsoleErrors = []string{"boom"} }, "console errors"},
		{"network", func(p *PageResult) { p.Blocked = []string{"https://cdn.invalid/x.js"} }, "tried the network"},
		{"no charts", func(p *PageResult) { p.Charts = nil }, "no chart"},
		{"not ready", func(p *PageResult) { p.Charts[0].Ready = false }, "chart 0 not drawn"},
		{"no instance", func(p *PageResult) { p.Charts[1].Instance = false }, "chart 1 not drawn"},
		{"blank canvas", func(p *PageResult) { p.Charts[0].PaintedPixels = 10 }, "chart 0 canvas looks blank"},
		{"no canvas", func(p *PageResult) { p.Charts[0].CanvasPixels, p.Charts[0].PaintedPixels = 0, 0 }, "looks blank"},
		{"no tooltip", func(p *PageResult) { p.Hovers[0].Tooltip = nil }, "hover 0 showed no tooltip"},
		{"hover error", func(p *PageResult) { p.Hovers[0].Error = "no chart 3" }, "no chart 3"},
		{"tooltip markup", func(p *PageResult) { p.Hovers[0].Tooltip.Imgs = 1 }, "markup from a token"},
	}
	for _, c := range cases {
		p := goodPage()
		c.mutate(&p)
		r := &recorder{TB: t}
		CheckPage(r, p)
		switch {
		case c.want == "" && len(r.errs) > 0:
			t.Errorf("%s: unexpected errors %q", c.name, r.errs)
		case c.want != "" && (len(r.errs) != 1 || !strings.Contains(r.errs[0], c.want)):
			t.Errorf("%s: got %q, want one error containing %q", c.name, r.errs, c.want)
		}
	}
}

func TestRootAndAvailable(t *testing.T) {
	root := Root(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "browsercheck", "check.js")); err != nil {
		t.Fatal(err)
	}
	if err := Available(t.TempDir()); err == nil {
		t.Error("Available: a folder without node_modules should not do")
	} else if !strings.Contains(err.Error(), "install-browser.sh") && !strings.Contains(err.Error(), "check.js") {
		t.Errorf("Available: %v does not say how to fix it", err)
	}
	if err := Available(root); err != nil {
		t.Logf("browser check not available here: %v", err)
	}
}

// TestRunCatchesHostilePage is the negative control: a page where markup ran,
// a dialog opened, the network was tried and no chart was drawn must fail
// every judgement of CheckPage.
func TestRunCatchesHostilePage(t *testing.T) {
	Need(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	html := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>
<div class="logitlens-chart"><div id="c0" data-logitlens-ready="1"></div></div>
<img src=x onerror="window.__pwned=1">
<img src="https://example.invalid/x.png">
<script>alert("hi"); console.error("oops"); throw new Error("boom");</script>
</body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Run(t, t.TempDir(), []Page{{Name: "browsercheck-negative", File: page, Hover: []Hover{{Chart: 3}}}})
	p := res["browsercheck-negative"]
	if p.Title != "bad" || len(p.Screenshots) != 1 {
		t.Errorf("title %q, screenshots %q", p.Title, p.Screenshots)
	}
	r := &recorder{TB: t}
	CheckPage(r, p)
	all := strings.Join(r.errs, "\n")
	for _, want := range []string{"window.__pwned=1", `alert: hi`, "injected elements=1", "boom", "oops",
		"example.invalid", "chart 0 not drawn", "chart 0 canvas looks blank", "hover 0 showed no tooltip"} {
		if !strings.Contains(all, want) {
			t.Errorf("CheckPage does not report %q:\n%s", want, all)
		}
	}
}
