// Package browsercheck opens logitlens HTML pages in a real browser for tests and
// judges what happened there.
//
// Run writes a spec, runs scripts/browsercheck/check.js (node + playwright-core
// driving headless Debian chromium offline, all installed by
// scripts/install-browser.sh) and returns the verdict of every page; CheckPage
// applies the judgements every logitlens page must pass. A test then adds its
// own page-specific assertions on the returned PageResult:
//
//	browsercheck.Need(t) // optional: skip before preparing the pages
//	res := browsercheck.Run(t, "", []browsercheck.Page{{
//		Name:  "cli-html",
//		File:  "/abs/path/page.html",
//		Hover: []browsercheck.Hover{{Chart: 0, X: 1, Y: 2, Screenshot: "hover"}},
//	}})
//	p := res["cli-html"]
//	browsercheck.CheckPage(t, p)
//	if len(p.Charts) != 2 { ... }
//
// Run (and Need, to skip before preparing pages) skips the test when chromium,
// node or playwright-core is missing, unless the environment has CI=true, where
// it fails instead. It also skips in -short mode. Screenshots (<name>.png, and <name>-<hover screenshot>.png) go to the
// given folder, by default <repo>/out/test-screenshots, which git ignores; Run
// logs their paths. Page names must be unique across the repository's tests,
// since they name the screenshot files (prefix them with the package, e.g.
// "cli-", "notebook-").
package browsercheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Chromium is the browser check.js drives.
const Chromium = "/usr/bin/chromium"

// Timeout bounds one Run (every page together).
var Timeout = 3 * time.Minute

// Hover asks check.js to move the mouse onto a data point of a chart after the
// page loaded, and to report the tooltip that showed up.
type Hover struct {
	// Chart is the index of the chart on the page (document order of the
	// .logitlens-chart > div[id] elements).
	Chart int `json:"chart"`
	// Grid, when set, places (X, Y) in that grid's coordinates (the panels of a
	// Lines chart); otherwise in series 0's (a heatmap: X = column, Y = state).
	Grid *int    `json:"grid,omitempty"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	// Screenshot, when set, takes a screenshot named <page>-<Screenshot>.png
	// with the tooltip showing.
	Screenshot string `json:"screenshot,omitempty"`
}

// Page is one page to open.
type Page struct {
	// Name identifies the page in the verdict and names its screenshots.
	Name string `json:"name"`
	// File is the HTML file (an absolute path, or relative to the test's directory).
	File  string  `json:"file"`
	Hover []Hover `json:"hover,omitempty"`
	// AllowRequests are URLs (exact) the page may load besides its own file and
	// data: URLs; every other request is aborted and reported in Blocked.
	AllowRequests []string `json:"allowRequests,omitempty"`
	// Width and Height of the viewport (defaults 1500×900); screenshots are full-page.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// TimeoutMs bounds the wait for the charts to be drawn (default 15000).
	TimeoutMs int `json:"timeoutMs,omitempty"`
}

// Tooltip is what a hover showed.
type Tooltip struct {
	Text string `json:"text"` // innerText
	HTML string `json:"html"` // innerHTML
	// Imgs counts img, svg, script and iframe elements inside the tooltip: a
	// token's text that became markup.
	Imgs int `json:"imgs"`
}

// HoverResult is the outcome of one Hover.
type HoverResult struct {
	Error   string   `json:"error"`   // the hover itself failed (e.g. no such chart)
	Tooltip *Tooltip `json:"tooltip"` // nil: no visible tooltip appeared
}

// DataZoom is one dataZoom component of a chart's option.
type DataZoom struct {
	Type       string `json:"type"`
	StartValue any    `json:"startValue"`
	EndValue   any    `json:"endValue"`
}

// Series is one series of a chart's option.
type Series struct {
	Type string `json:"type"`
	Name string `json:"name"`
	N    int    `json:"n"` // data points
}

// ChartResult is one chart on the page (a .logitlens-chart > div[id]).
type ChartResult struct {
	ID    string `json:"id"`
	Ready bool   `json:"ready"` // the runtime set data-logitlens-ready="1"
	Text  string `json:"text"`  // the div's textContent (an error message when it failed)
	// Instance: ECharts has an instance on the div; the fields below are set only then.
	Instance bool `json:"instance"`
	// XAxis and YAxis are the category data of each axis of the option (nil for a value axis).
	XAxis    [][]string `json:"xAxis"`
	YAxis    [][]string `json:"yAxis"`
	Series   []Series   `json:"series"`
	DataZoom []DataZoom `json:"dataZoom"`
	// DrawnTexts are the texts ECharts drew (labels, axis labels, titles).
	DrawnTexts []string `json:"drawnTexts"`
	// ZrRich counts drawn texts parsed as ECharts rich text ({style|text}).
	ZrRich int `json:"zrRich"`
	// CanvasPixels and PaintedPixels (not white or transparent) of the canvases;
	// SVGNodes of the SVG renderer.
	CanvasPixels  int `json:"canvasPixels"`
	PaintedPixels int `json:"paintedPixels"`
	SVGNodes      int `json:"svgNodes"`
}

// PageResult is check.js's verdict on one page.
type PageResult struct {
	Name          string        `json:"name"`
	Title         string        `json:"title"`         // document.title
	Dialogs       []string      `json:"dialogs"`       // alert/confirm/prompt dialogs ("alert: msg")
	PageErrors    []string      `json:"pageErrors"`    // uncaught exceptions, or the charts never became ready
	ConsoleErrors []string      `json:"consoleErrors"` // console.error messages (failed loads included)
	Blocked       []string      `json:"blocked"`       // network requests that were aborted
	Hovers        []HoverResult `json:"hovers"`        // one per Page.Hover
	Screenshots   []string      `json:"screenshots"`
	LoadMs        int           `json:"loadMs"` // until every chart was ready
	Charts        []ChartResult `json:"charts"`
	// Pwned is window.__pwned as a string (the hostile test tokens set it), nil when unset.
	Pwned *string `json:"pwned"`
	// AMDCalls and RequireCalls are what a page's fake RequireJS recorded
	// (window.__amdCalls, window.__requireCalls); RequireCalls is "null" when none.
	AMDCalls     []string        `json:"amdCalls"`
	RequireCalls json.RawMessage `json:"requireCalls"`
	// Injected counts elements a token could have injected: img[src=x], img[onerror], svg[onload].
	Injected int `json:"injected"`
}

// Verdict is check.js's whole output.
type Verdict struct {
	OK      bool         `json:"ok"`
	Error   string       `json:"error"`
	Browser string       `json:"browser"`
	Pages   []PageResult `json:"pages"`
}

// Spec is check.js's input.
type Spec struct {
	ScreenshotDir string `json:"screenshotDir"`
	Pages         []Page `json:"pages"`
}

// Root returns the repository root: the nearest folder above the working
// directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("browsercheck: no go.mod above %s", dir)
		}
	}
}

// Available returns nil when the browser check can run from the repository at
// root, else why not (what is missing and how to install it).
func Available(root string) error {
	_, err := tools(root)
	return err
}

// tools returns node's path, or why the browser check cannot run.
func tools(root string) (string, error) {
	if _, err := os.Stat(Chromium); err != nil {
		return "", fmt.Errorf("no %s (run scripts/install-browser.sh)", Chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no node in PATH (run scripts/install-browser.sh)")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core", "package.json")); err != nil {
		return "", fmt.Errorf("no node_modules/playwright-core (run scripts/install-browser.sh)")
	}
	if _, err := os.Stat(script(root)); err != nil {
		return "", fmt.Errorf("no %s", script(root))
	}
	return node, nil
}

func script(root string) string {
	return filepath.Join(root, "scripts", "browsercheck", "check.js")
}

// ScreenshotDir is where Run puts screenshots by default: <root>/out/test-screenshots.
func ScreenshotDir(root string) string {
	return filepath.Join(root, "out", "test-screenshots")
}

// Need skips the test in -short mode, and when the browser check cannot run
// (see Available) unless the environment has CI=true, where it fails the test
// instead. It returns the repository root. Run calls it; call it first to skip
// before preparing pages.
func Need(t testing.TB) (root string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	root = Root(t)
	if err := Available(root); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the browser check cannot run: %v", err)
		}
		t.Skipf("browser check skipped: %v", err)
	}
	return root
}

// Run opens pages in headless chromium and returns each page's verdict by name.
// screenshotDir "" means ScreenshotDir(Root(t)). It skips the test as Need
// does. It fails the test when check.js fails or a page has no verdict. It
// logs the browser version, the screenshot paths and the load times. It judges
// nothing else: call CheckPage on each result.
func Run(t testing.TB, screenshotDir string, pages []Page) map[string]PageResult {
	t.Helper()
	root := Need(t)
	node, err := tools(root)
	if err != nil {
		t.Fatal(err)
	}
	if screenshotDir == "" {
		screenshotDir = ScreenshotDir(root)
	}
	if screenshotDir, err = filepath.Abs(screenshotDir); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range pages {
		if pages[i].Name == "" || seen[pages[i].Name] {
			t.Fatalf("browsercheck: page %d: empty or repeated name %q", i, pages[i].Name)
		}
		seen[pages[i].Name] = true
		if pages[i].File, err = filepath.Abs(pages[i].File); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := json.Marshal(Spec{ScreenshotDir: screenshotDir, Pages: pages})
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script(root), specFile)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var v Verdict
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &v); jerr != nil {
		t.Fatalf("check.js: %v / %v\nstdout: %.2000s\nstderr: %.2000s", err, jerr, out, stderr.String())
	}
	if !v.OK {
		t.Fatalf("check.js failed: %s\nstderr: %.2000s", v.Error, stderr.String())
	}
	t.Logf("browser: chromium %s", v.Browser)
	byName := make(map[string]PageResult, len(v.Pages))
	load := make([]string, 0, len(v.Pages))
	for _, p := range v.Pages {
		byName[p.Name] = p
		for _, s := range p.Screenshots {
			t.Logf("screenshot: %s", s)
		}
		load = append(load, fmt.Sprintf("%s %dms", p.Name, p.LoadMs))
	}
	t.Logf("load times: %s", strings.Join(load, ", "))
	for _, p := range pages {
		if _, ok := byName[p.Name]; !ok {
			t.Fatalf("no verdict for page %s", p.Name)
		}
	}
	return byName
}

// CheckPage applies the judgements every logitlens page must pass, reporting
// each failure with t.Errorf (it never stops the test):
//
//   - nothing ran that should not have: window.__pwned unset, no dialogs, no
//     injected img/svg elements;
//   - no page errors (uncaught exceptions, charts that never became ready) and
//     no console errors;
//   - no blocked network requests (the page works offline);
//   - at least one chart, and every chart ready with an ECharts instance and
//     drawn: an SVG renderer's nodes, or a canvas with at least 2% painted pixels;
//   - every hover showed a tooltip, and no tooltip holds markup (img, svg,
//     script, iframe) from a token.
//
// A page that is expected to fail some of these (e.g. a CDN that is meant to be
// unreachable) is judged by its own test instead; PageResult is a value, so a
// test may also clear what it expects (e.g. Blocked) before calling CheckPage.
func CheckPage(t testing.TB, p PageResult) {
	t.Helper()
	if p.Pwned != nil || len(p.Dialogs) > 0 || p.Injected > 0 {
		pwned := "unset"
		if p.Pwned != nil {
			pwned = *p.Pwned
		}
		t.Errorf("%s: a token ran code: window.__pwned=%s dialogs=%q injected elements=%d", p.Name, pwned, p.Dialogs, p.Injected)
	}
	if len(p.PageErrors) > 0 || len(p.ConsoleErrors) > 0 {
		t.Errorf("%s: page errors %q, console errors %q", p.Name, p.PageErrors, p.ConsoleErrors)
	}
	if len(p.Blocked) > 0 {
		t.Errorf("%s: the page tried the network: %q", p.Name, p.Blocked)
	}
	if len(p.Charts) == 0 {
		t.Errorf("%s: no chart on the page", p.Name)
	}
	for i, c := range p.Charts {
		if !c.Ready || !c.Instance {
			t.Errorf("%s: chart %d not drawn (ready=%v instance=%v text=%.200q)", p.Name, i, c.Ready, c.Instance, c.Text)
		}
		if c.SVGNodes == 0 && (c.CanvasPixels == 0 || c.PaintedPixels < c.CanvasPixels/50) {
			t.Errorf("%s: chart %d canvas looks blank: %d of %d pixels painted", p.Name, i, c.PaintedPixels, c.CanvasPixels)
		}
	}
	for i, h := range p.Hovers {
		if h.Error != "" || h.Tooltip == nil {
			t.Errorf("%s: hover %d showed no tooltip (%s)", p.Name, i, h.Error)
		} else if h.Tooltip.Imgs != 0 {
			t.Errorf("%s: hover %d tooltip has markup from a token: %s", p.Name, i, h.Tooltip.HTML)
		}
	}
}

// Drawn reports whether ECharts drew the text s in the chart.
func (c ChartResult) Drawn(s string) bool {
	for _, d := range c.DrawnTexts {
		if d == s {
			return true
		}
	}
	return false
}
