package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/internal/browsercheck"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

// hostilePrompt would run code if a token reached the page as markup.
const hostilePrompt = `Are cats good? </script><img src=x onerror="window.__pwned=1"><svg onload=alert(1)>`

var (
	scriptOpen  = regexp.MustCompile(`(?i)<script[\s>]`)
	scriptClose = regexp.MustCompile(`(?i)</script`)
)

// TestHTML runs the CLI with --html on a prompt of hostile tokens and checks the
// page: as text (the tokens never appear as markup), then in headless chromium
// (the charts are drawn, hovers show the top-k, nothing runs) — the same browser
// check as display's pages.
func TestHTML(t *testing.T) {
	model := t.TempDir()
	if err := fixture.Write(model, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	page, jsonPath := filepath.Join(out, "lens.html"), filepath.Join(out, "lens.json")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"--model", model, "--prompt", hostilePrompt, "--quiet", "--html", page, "--json", jsonPath}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "wrote "+page) {
		t.Errorf("stderr does not report the page:\n%s", stderr.String())
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var r lensnb.Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Tokens, "") != hostilePrompt || len(r.Columns) != len(r.Tokens) || len(r.States) != 3 {
		t.Fatalf("lens of %q: tokens %q, %d columns, states %v", hostilePrompt, r.Tokens, len(r.Columns), r.States)
	}
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(raw)

	// As text: every <script> closes once, at its own end; the prompt's markup
	// appears nowhere raw, in scripts or out of them.
	opens, closes := scriptOpen.FindAllStringIndex(html, -1), scriptClose.FindAllStringIndex(html, -1)
	if len(opens) == 0 || len(opens) != len(closes) {
		t.Errorf("%d <script> and %d </script>", len(opens), len(closes))
	} else {
		var outside strings.Builder
		prev := 0
		for i := range opens {
			if opens[i][0] < prev || closes[i][0] < opens[i][1] || (i+1 < len(opens) && opens[i+1][0] < closes[i][1]) {
				t.Errorf("script %d: <script> at %d and </script> at %d interleave", i, opens[i][0], closes[i][0])
				break
			}
			outside.WriteString(html[prev:opens[i][0]])
			prev = closes[i][1]
		}
		outside.WriteString(html[prev:])
		for _, tag := range []string{"<img", "<svg", "onerror", "onload", "<iframe"} {
			if i := strings.Index(strings.ToLower(outside.String()), tag); i >= 0 {
				t.Errorf("markup %q outside the scripts: %.200q", tag, outside.String()[max(0, i-80):])
			}
		}
	}
	for _, s := range []string{`<img src=x`, `onerror="window.__pwned`, `<svg onload`, `</script><img`, `__pwned=1"`} {
		if i := strings.Index(html, s); i >= 0 {
			t.Errorf("the prompt's %q is in the page raw: %.200q", s, html[max(0, i-80):])
		}
	}
	if !strings.Contains(html, "<title>Logit lens") || !strings.Contains(html, `\u003c/`) {
		t.Errorf("the page lacks its title or the escaped tokens")
	}

	// In the browser.
	cats, angle := -1, -1 // the " cats" column, and the first one with a '<' in its token
	for c, col := range r.Columns {
		if col.Token == " cats" {
			cats = c
		}
		if angle < 0 && strings.Contains(col.Token, "<") {
			angle = c
		}
	}
	if cats < 0 || angle < 0 {
		t.Fatalf("tokens %q: no \" cats\" or '<' token", r.Tokens)
	}
	final := len(r.States) - 1
	grid0 := 0
	res := browsercheck.Run(t, "", []browsercheck.Page{{
		Name: "cli-html-hostile",
		File: page,
		Hover: []browsercheck.Hover{
			{Chart: 0, X: float64(cats), Y: float64(final), Screenshot: "hover"},
			{Chart: 0, X: float64(angle), Y: 0},
			{Chart: 1, Grid: &grid0, X: 1, Y: 0.5, Screenshot: "hover-lines"},
		},
		Height: 1400,
	}})
	p := res["cli-html-hostile"]
	browsercheck.CheckPage(t, p)
	if len(p.Charts) != 2 || len(p.Hovers) != 3 {
		t.Fatalf("%d charts (want the heatmap and the line charts), %d hovers", len(p.Charts), len(p.Hovers))
	}
	if !strings.HasPrefix(p.Title, "Logit lens") {
		t.Errorf("title %q", p.Title)
	}

	// The heatmap: every token on the bottom axis, as text.
	hm := p.Charts[0]
	if len(hm.XAxis) != 2 || len(hm.XAxis[0]) != len(r.Columns) || len(hm.YAxis) != 1 || len(hm.YAxis[0]) != len(r.States) {
		t.Fatalf("heatmap axes: x %q, y %q", hm.XAxis, hm.YAxis)
	}
	for c, col := range r.Columns {
		if want := display.VisibleToken(col.Token); hm.XAxis[0][c] != want {
			t.Errorf("x axis %d: %q, want %q", c, hm.XAxis[0][c], want)
		}
	}
	if hm.XAxis[0][cats] != "␣cats" || !hm.Drawn("␣cats") {
		t.Errorf("\"cats\" is not on the x axis: %q (drawn: %v)", hm.XAxis[0], hm.Drawn("␣cats"))
	}
	for _, s := range r.States {
		if !hm.Drawn(s) {
			t.Errorf("state %q not drawn", s)
		}
	}
	if hm.ZrRich != 0 {
		t.Errorf("%d texts were parsed as ECharts rich text", hm.ZrRich)
	}

	// Hovering a cell shows its state, position, tokens and top-k.
	if tip := p.Hovers[0].Tooltip; tip != nil {
		cell := r.Cells[final][cats]
		want := []string{r.States[final], fmt.Sprintf("position %d", r.Columns[cats].Position), "token ␣cats",
			"next " + display.VisibleToken(r.Columns[cats].NextToken)}
		for _, tp := range cell.Top {
			w := display.VisibleToken(tp.Token)
			if tp.ID == r.Columns[cats].NextID {
				w += " ✓"
			}
			if p := pct(tp.Prob); p != "" {
				w += "\t" + p
			}
			want = append(want, w)
		}
		if len(cell.Top) != 5 {
			t.Errorf("top-%d, want the CLI's default top-5", len(cell.Top))
		}
		for _, w := range want {
			if !strings.Contains(tip.Text, w) {
				t.Errorf("the tooltip of (%s, ␣cats) lacks %q:\n%s", r.States[final], w, tip.Text)
			}
		}
	}
	if tip := p.Hovers[1].Tooltip; tip != nil {
		if w := "token " + display.VisibleToken(r.Columns[angle].Token); !strings.Contains(tip.Text, w) {
			t.Errorf("the tooltip of a hostile token does not show it as text (%q):\n%s", w, tip.Text)
		}
	}
	if tip := p.Hovers[2].Tooltip; tip != nil && !strings.Contains(tip.Text, r.States[1]) {
		t.Errorf("the line charts' tooltip lacks %q:\n%s", r.States[1], tip.Text)
	}

	// The line charts: one panel per default metric over the states.
	lines := p.Charts[1]
	if len(lines.XAxis) != len(display.DefaultLineMetrics) || len(lines.XAxis[0]) != len(r.States) || len(lines.Series) == 0 {
		t.Errorf("line charts: x axes %q, %d series", lines.XAxis, len(lines.Series))
	}
}

// pct formats a probability of at least 0.1% as the tooltips do (display's
// L.pct), from the 6-decimal value the page carries; "" for a smaller one.
func pct(p float64) string {
	v := 100 * (math.Round(p*1e6) / 1e6)
	switch {
	case v >= 10:
		return fmt.Sprintf("%.1f%%", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2f%%", v)
	}
	return ""
}
