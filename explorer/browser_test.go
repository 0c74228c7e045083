package explorer

import (
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/browsercheck"
)

// verdict is what scripts/browsercheck/explorer.js reports.
type verdict struct {
	OK         bool     `json:"ok"`
	Error      string   `json:"error"`
	PageErrors []string `json:"pageErrors"`
	Blocked    []string `json:"blocked"`
	Steps      struct {
		First, Typed, Metric, Decoder, Pinned chartState
		Hover                                 string
		Compare                               []string
		CompareLayout                         *struct{ SameRow, SecondRight bool }
		Hostile                               struct {
			Pwned   any
			Heading string
			Imgs    int
		}
		Error string
	} `json:"steps"`
}

type chartState struct {
	Ready  bool
	X      []any
	Titles []string
	Pinned bool
}

// TestExplorerInChromium drives the page as a person would: the first heatmap,
// typing a prompt, switching the metric and the decoder, hovering, pinning a
// cell, comparing two prompts, hostile text and an empty prompt.
func TestExplorerInChromium(t *testing.T) {
	root := browsercheck.Need(t)
	srv := httptest.NewServer(tinyServer(t).Handler()) // 127.0.0.1
	defer srv.Close()
	out, err := exec.Command("node", filepath.Join(root, "scripts", "browsercheck", "explorer.js"), srv.URL+"/", browsercheck.ScreenshotDir(root)).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("explorer.js: %v", err)
	}
	var v verdict
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("explorer.js printed %q: %v", out, err)
	}
	if !v.OK {
		t.Fatalf("the page did not go through its steps: %s", v.Error)
	}
	s := v.Steps
	if !s.First.Ready || len(s.First.X) == 0 {
		t.Errorf("first heatmap: %+v", s.First)
	}
	joined := func(xs []any) string { b, _ := json.Marshal(xs); return string(b) }
	if !strings.Contains(joined(s.Typed.X), "quick") {
		t.Errorf("after typing, the x axis is %s: want the new prompt's tokens", joined(s.Typed.X))
	}
	if !strings.Contains(strings.Join(s.Metric.Titles, " "), "entropy") || !strings.Contains(strings.Join(s.Decoder.Titles, " "), "raw states") {
		t.Errorf("titles after switching metric %q and decoder %q", s.Metric.Titles, s.Decoder.Titles)
	}
	if !strings.Contains(s.Hover, "%") && !strings.Contains(s.Hover, "0.") {
		t.Errorf("hovering a cell showed %q: want its top tokens with probabilities", s.Hover)
	}
	if !s.Pinned.Ready || !strings.Contains(strings.Join(s.Pinned.Titles, " "), "P(") {
		t.Errorf("pinned chart: %+v", s.Pinned)
	}
	if len(s.Compare) != 2 || s.CompareLayout == nil || !s.CompareLayout.SameRow || !s.CompareLayout.SecondRight {
		t.Errorf("compare: sides %v, layout %+v: want two heatmaps side by side", s.Compare, s.CompareLayout)
	}
	if s.Hostile.Pwned != nil || s.Hostile.Imgs != 0 || !strings.Contains(s.Hostile.Heading, "<img") {
		t.Errorf("a prompt of markup: %+v: it must stay text", s.Hostile)
	}
	if !strings.Contains(s.Error, "type a prompt") {
		t.Errorf("empty prompt showed %q", s.Error)
	}
	if len(v.PageErrors) > 0 || len(v.Blocked) > 0 {
		t.Errorf("page errors %q, requests outside the explorer %q", v.PageErrors, v.Blocked)
	}
}
