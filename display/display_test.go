package display

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

func TestVisibleToken(t *testing.T) {
	for in, want := range map[string]string{
		" cats":          "␣cats",
		"\n":             "↵",
		"\n\n":           "↵↵",
		"\t":             "⇥",
		"\r\n":           "␍↵",
		"\x00\x1b\x7f":   "␀␛␡",
		"":               "∅",
		"\xd0":           `\xd0`,
		"\xd0\x9a":       "К",
		"a\u00a0b":       `a\u00a0b`,
		"x\u2028y\u2029": `x\u2028y\u2029`,
		"zero\u200bw":    `zero\u200bw`,
		"\ufeff":         `\ufeff`,
		"</script>":      "</script>",
		"Кошки":          "Кошки",
		"{a|b}":          "{a|b}",
	} {
		if got := VisibleToken(in); got != want {
			t.Errorf("VisibleToken(%q) = %q, want %q", in, got, want)
		}
	}
	if got := visibleToken(" a\nb\x01", true); got != `·a¶b\x01` {
		t.Errorf("static visibleToken = %q", got)
	}
	if got := shorten("abcdefgh", 5); got != "abcd…" {
		t.Errorf("shorten = %q", got)
	}
	if got := plainText("a\nb\u2028c\x00"); got != "a b c " {
		t.Errorf("plainText = %q", got)
	}
}

func TestScriptJSON(t *testing.T) {
	got, err := scriptJSON(map[string]any{"t": "a\u2028b\u2029</script><!--&'\"\\{}"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"t":"a\u2028b\u2029\u003c/script\u003e\u003c!--\u0026'\"\\{}"}`
	if got != want {
		t.Errorf("scriptJSON = %s, want %s", got, want)
	}
	if _, err := scriptJSON(math.NaN()); err == nil {
		t.Error("NaN was encoded")
	}
}

func TestScale(t *testing.T) {
	s, err := newScale(lensnb.MetricProb, ScaleOptions{}, [][]float64{{0.2, 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	if s.min != 0 || s.mid != 0.5 || s.max != 1 {
		t.Fatalf("prob scale = %v %v %v, want 0 0.5 1", s.min, s.mid, s.max)
	}
	if got := hexOf(s.color(0.5)); got != "#ffffbf" {
		t.Errorf("colour at the midpoint = %s, want RdYlBu's #ffffbf", got)
	}
	if got := hexOf(s.color(0)); got != "#313695" {
		t.Errorf("colour at 0 = %s", got)
	}
	if got := hexOf(s.color(1)); got != "#a50026" {
		t.Errorf("colour at 1 = %s", got)
	}
	// A moved midpoint: 0.2 gets the middle colour, and the stops follow.
	s2, err := newScale(lensnb.MetricProb, ScaleOptions{Mid: Float(0.2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hexOf(s2.color(0.2)); got != "#ffffbf" {
		t.Errorf("colour at a 0.2 midpoint = %s", got)
	}
	if f := s2.frac(0.6); math.Abs(f-0.75) > 1e-12 {
		t.Errorf("frac(0.6) with midpoint 0.2 = %v, want 0.75", f)
	}
	st := s2.stops(11)
	if st[0] != "#313695" || st[10] != "#a50026" || st[2] != "#ffffbf" {
		t.Errorf("stops = %v", st)
	}
	// Ranks: log10(1+rank), min 0.
	sr, err := newScale(lensnb.MetricRankOfFinal, ScaleOptions{}, [][]float64{{0, 9, 99}})
	if err != nil {
		t.Fatal(err)
	}
	if !sr.log || sr.min != 0 || math.Abs(sr.max-2) > 1e-12 || math.Abs(sr.mid-1) > 1e-12 {
		t.Errorf("rank scale = %+v", sr)
	}
	if got := colorbarTicks(sr); len(got) != 3 || got[0] != 0 || got[1] != 9 || got[2] != 99 {
		t.Errorf("rank ticks = %v", got)
	}
	if _, err := newScale(lensnb.MetricProb, ScaleOptions{Palette: Palette{"#fff"}}, nil); err == nil {
		t.Error("a one-colour palette was accepted")
	}
	if _, err := newScale(lensnb.MetricProb, ScaleOptions{Palette: Palette{"#fff", "red"}}, nil); err == nil {
		t.Error("a named colour was accepted")
	}
	if _, err := newScale(lensnb.MetricEntropy, ScaleOptions{Min: Float(3), Max: Float(1)}, nil); err == nil {
		t.Error("max < min was accepted")
	}
	if c := textColorOn(RdYlBuR.At(0)); c.R != 255 {
		t.Error("dark blue should get white text")
	}
	if c := textColorOn(RdYlBuR.At(0.5)); c.R != 0 {
		t.Error("pale yellow should get black text")
	}
}

// mountArgs extracts the arguments of the fragment's mount call (one per line).
var mountRE = regexp.MustCompile(`window\.__logitlens\.mount\(("[^"]*"), ("[^"]*"),\n(.*),\n(.*),\n(.*)\);\n`)

type mounted struct {
	ID, Kind string
	Option   map[string]any
	Meta     map[string]any
	Src      any
}

func parseMounts(t *testing.T, html string) []mounted {
	t.Helper()
	var out []mounted
	for _, m := range mountRE.FindAllStringSubmatch(html, -1) {
		var mt mounted
		for i, dst := range []any{&mt.ID, &mt.Kind, &mt.Option, &mt.Meta, &mt.Src} {
			if err := json.Unmarshal([]byte(m[i+1]), dst); err != nil {
				t.Fatalf("mount argument %d is not a JSON literal: %v\n%.300s", i, err, m[i+1])
			}
		}
		out = append(out, mt)
	}
	return out
}

func withoutBundle(html string) string { return strings.Replace(html, echartsMinJS, "<BUNDLE>", 1) }

func TestHeatmapHTMLEscaping(t *testing.T) {
	r := SampleResult(12, 20, true, 2)
	c := Heatmap(r, HeatmapOptions{})
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	h, err := c.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, echartsMinJS) {
		t.Fatal("JSInline HTML lacks the ECharts bundle")
	}
	own := withoutBundle(h)
	for _, bad := range []string{"<img", "<svg", "<!--", "\u2028", "\u2029", "JSON.parse", "</title>"} {
		if strings.Contains(own, bad) {
			t.Errorf("fragment contains %q outside the ECharts bundle", bad)
		}
	}
	if n := strings.Count(h, "<script"); n != 2 {
		t.Errorf("%d <script tags, want 2 (loader, chart)", n)
	}
	if n := strings.Count(strings.ToLower(h), "</script"); n != 2 {
		t.Errorf("%d </script sequences, want 2: a token ended a script", n)
	}
	ms := parseMounts(t, h)
	if len(ms) != 1 {
		t.Fatalf("%d mount calls", len(ms))
	}
	m := ms[0]
	if m.ID != c.ID() || m.Kind != "heatmap" || m.Src != nil {
		t.Errorf("mount(%q, %q, …, %v)", m.ID, m.Kind, m.Src)
	}
	if strings.Count(h, `id="`+c.ID()+`"`) != 1 {
		t.Error("the chart div id is not in the HTML exactly once")
	}
	// The data survives the escaping: tokens, visible, in the axes and the tooltips' data.
	xs := m.Option["xAxis"].([]any)
	bottom := xs[0].(map[string]any)["data"].([]any)
	top := xs[1].(map[string]any)["data"].([]any)
	if len(bottom) != 20 || len(top) != 20 {
		t.Fatalf("axis lengths %d, %d", len(bottom), len(top))
	}
	if bottom[0] != VisibleToken(HostileToken) {
		t.Errorf("bottom[0] = %q", bottom[0])
	}
	wantTop := VisibleToken(hostileTokens[1])
	if agrees(r, 0) {
		wantTop = "✓ " + wantTop
	}
	if top[0] != wantTop {
		t.Errorf("top[0] = %q, want %q", top[0], wantTop)
	}
	if top[19] != "–" {
		t.Errorf("the last column has no next token, top[19] = %q", top[19])
	}
	ys := m.Option["yAxis"].([]any)[0].(map[string]any)["data"].([]any)
	if len(ys) != 13 || ys[0] != "embeddings" || ys[12] != "blocks.11" {
		t.Errorf("y axis = %v (want embeddings first = bottom)", ys)
	}
	labels := m.Meta["labels"].([]any)
	if got := labels[12].([]any)[0]; got != shorten(VisibleToken(r.Cells[12][0].Top[0].Token), 7) {
		t.Errorf("label[12][0] = %q", got)
	}
	top5 := m.Meta["top"].([]any)[3].([]any)[4].([]any)
	if len(top5) != 5 || top5[0].([]any)[0] != VisibleToken(r.Cells[3][4].Top[0].Token) {
		t.Errorf("top-k of [3][4] = %v", top5)
	}
	series := m.Option["series"].([]any)
	if n := len(series[0].(map[string]any)["data"].([]any)); n != 13*20 {
		t.Errorf("%d heatmap items, want 260", n)
	}
	vm := m.Option["visualMap"].([]any)[0].(map[string]any)
	if vm["min"] != 0.0 || vm["max"] != 1.0 || len(vm["inRange"].(map[string]any)["color"].([]any)) != 33 {
		t.Errorf("visualMap = %v", vm)
	}
	if _, ok := m.Option["dataZoom"]; ok {
		t.Error("a 13×20 heatmap should not need dataZoom")
	}
	// The title and model name are text too.
	if !strings.Contains(own, `"subtext":"\u003c/script\u003e\u003cimg/src=\"x\"/onerror=\"window.__pwned=1;alert(1)\"\u003e`) {
		t.Error("the hostile model name is not JSON-escaped in the subtitle")
	}
}

func TestHeatmapOptions(t *testing.T) {
	r := SampleResult(12, 1024, false, 5)
	c := Heatmap(r, HeatmapOptions{Metric: lensnb.MetricRankOfFinal, JS: JSNone})
	h, err := c.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, echartsMinJS) || strings.Contains(h, CDNURL) {
		t.Error("JSNone HTML carries a library")
	}
	w, hh := c.Size()
	if w > 1600 || hh > 700 {
		t.Errorf("13×1024 chart is %d×%d px; it should scroll, not grow", w, hh)
	}
	opt := c.Option()
	zoom, ok := opt["dataZoom"].([]any)
	if !ok || len(zoom) != 2 {
		t.Fatalf("dataZoom = %v", opt["dataZoom"])
	}
	z := zoom[0].(map[string]any)
	if z["type"] != "slider" || z["endValue"] != 19.0 {
		t.Errorf("slider = %v", z)
	}
	meta := c.meta.(heatmapMeta)
	if !meta.Log {
		t.Error("ranks should be on a log scale")
	}
	// The colour value of a rank-0 cell is log10(1) = 0.
	if first := opt["series"].([]any)[0].(map[string]any)["data"].([]any)[0]; first == nil {
		t.Error("no data")
	}

	cdn := Heatmap(SampleResult(2, 3, false, 1), HeatmapOptions{JS: JSCDN, Cells: CellValue, Metric: lensnb.MetricEntropy})
	h, err = cdn.HTML()
	if err != nil {
		t.Fatal(err)
	}
	ms := parseMounts(t, h)
	if strings.Contains(h, echartsMinJS) || len(ms) != 1 || ms[0].Src != CDNURL {
		t.Error("JSCDN HTML should load CDNURL and not inline the bundle")
	}

	// NaN cells (next-token probability at the last position) go to the grey series.
	r2 := SampleResult(3, 4, false, 1)
	r2.Columns[3].NextID, r2.Columns[3].NextToken = -1, ""
	for s := range r2.Cells {
		r2.Cells[s][3].NextID = -1
	}
	c2 := Heatmap(r2, HeatmapOptions{Metric: lensnb.MetricNextProb})
	series := c2.Option()["series"].([]any)
	if n0, n1 := len(series[0].(map[string]any)["data"].([]any)), len(series[1].(map[string]any)["data"].([]any)); n0 != 12 || n1 != 4 {
		t.Errorf("values/missing = %d/%d, want 12/4", n0, n1)
	}

	for name, c := range map[string]*Chart{
		"unknown metric": Heatmap(r2, HeatmapOptions{Metric: "nope"}),
		"bad palette":    Heatmap(r2, HeatmapOptions{Scale: ScaleOptions{Palette: Palette{"#12345"}}}),
		"ragged":         Heatmap(&lensnb.Result{States: []string{"a"}, Columns: []lensnb.Column{{}}, Cells: [][]lensnb.Cell{{}}}, HeatmapOptions{}),
		"nil":            Heatmap(nil, HeatmapOptions{}),
		"bad column":     Lines(r2, LinesOptions{Columns: []int{7}}),
	} {
		if c.Err() == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := c.HTML(); err == nil {
			t.Errorf("%s: HTML gave no error", name)
		}
	}
}

func TestUniqueIDsAndPage(t *testing.T) {
	r := SampleResult(4, 6, true, 3)
	a, b := Heatmap(r, HeatmapOptions{}), Lines(r, LinesOptions{})
	if a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "logitlens-") {
		t.Fatalf("ids %q %q", a.ID(), b.ID())
	}
	var buf bytes.Buffer
	if err := WritePage(&buf, "Lens <page>", a, b, TopKTable(r, 4, 0)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "<title>Lens &lt;page&gt;</title>") {
		t.Error("page head")
	}
	if n := strings.Count(page, echartsMinJS); n != 1 {
		t.Errorf("the bundle is in the page %d times, want 1", n)
	}
	ms := parseMounts(t, page)
	if len(ms) != 2 || ms[0].ID != a.ID() || ms[1].ID != b.ID() {
		t.Errorf("mounts %+v", ms)
	}
	if strings.Contains(withoutBundle(page), "JSON.parse") {
		t.Error("JSON.parse in the page")
	}
	single, err := a.Page()
	if err != nil || !strings.Contains(single, echartsMinJS) || !strings.Contains(single, "</html>") {
		t.Errorf("Chart.Page: %v", err)
	}
	if strings.Count(page, `id="`+a.ID()+`"`) != 1 || strings.Count(page, `id="`+b.ID()+`"`) != 1 {
		t.Error("ids not unique in the page")
	}
}

func TestEChartsLoader(t *testing.T) {
	l := echartsLoader()
	if !strings.Contains(l, "(function (define, exports, module) {") ||
		!strings.Contains(l, "}).call(window, undefined, (window.__logitlensECharts = {}), {});") {
		t.Error("the loader does not shadow define/exports/module")
	}
	if closeScript.MatchString(echartsMinJS) {
		t.Error("the bundle contains </script or <!--; the loader rewrites it, but check the new version")
	}
	if !strings.Contains(echartsMinJS, `version="`+echartsVersion+`"`) {
		t.Errorf("assets/echarts.min.js is not version %s", echartsVersion)
	}
	for _, f := range []string{"LICENSE", "NOTICE", "LICENSE-d3"} {
		if _, err := os.Stat(filepath.Join("assets", f)); err != nil {
			t.Error(err)
		}
	}
}

func TestLines(t *testing.T) {
	r := SampleResult(12, 10, false, 4)
	c := Lines(r, LinesOptions{})
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	opt := c.Option()
	series := opt["series"].([]any)
	if len(series) != 4*8 {
		t.Fatalf("%d series, want 4 metrics × the last 8 columns", len(series))
	}
	first := series[0].(map[string]any)
	if first["name"] != "2: "+VisibleToken(r.Columns[2].Token)+" → "+VisibleToken(r.Columns[2].NextToken) {
		t.Errorf("series name %q", first["name"])
	}
	if n := len(first["data"].([]any)); n != 13 {
		t.Errorf("%d points, want one per state", n)
	}
	ys := opt["yAxis"].([]any)
	if ys[3].(map[string]any)["type"] != "log" || ys[0].(map[string]any)["max"] != 1.0 {
		t.Errorf("y axes: %v", ys)
	}
	// Entropy of column 2 at layer 5 is in the data as is.
	got := series[8].(map[string]any)["data"].([]any)[6].(float64)
	if want := r.Cells[6][2].Entropy; math.Abs(got-want) > 1e-5*want {
		t.Errorf("entropy point %v, want %v", got, want)
	}
	// Ranks are shifted by one for the log axis.
	got = series[24].(map[string]any)["data"].([]any)[0].(float64)
	if want := float64(r.Cells[0][2].RankOfFinal + 1); got != want {
		t.Errorf("rank point %v, want %v", got, want)
	}
	one := Lines(r, LinesOptions{Metrics: []lensnb.Metric{lensnb.MetricNextProb}, Columns: []int{0, 5}})
	if n := len(one.Option()["series"].([]any)); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
}

func TestTables(t *testing.T) {
	r := SampleResult(3, 2, true, 9)
	r.Cells[3][0].Top[1].Token = HostileToken
	h, err := TopKTable(r, 3, 0).HTML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "<img") || strings.Contains(h, "<script") {
		t.Error("TopKTable did not escape a token")
	}
	if !strings.Contains(h, "&lt;/script&gt;&lt;img/src=&#34;x&#34;/onerror=&#34;window.__pwned=1;alert(1)&#34;&gt;") {
		t.Errorf("TopKTable lacks the escaped token:\n%s", h)
	}
	if strings.Count(h, "<tr>") != 1+5 {
		t.Errorf("want a header and 5 rows:\n%s", h)
	}
	s := lm.NewSummary(&lm.Config{NLayer: 2, NHead: 2, NEmbd: 8, NPositions: 16, VocabSize: 50}, 4)
	h, err = SummaryTable(s).HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GPT2LMHeadModel", "h.1 (GPT2Block)", "[1, 4, 8]", lm.Thousands(s.TotalParams), lm.Thousands(s.UniqueParams), "padding-left:58px"} {
		if !strings.Contains(h, want) {
			t.Errorf("summary table lacks %q", want)
		}
	}
	if lm.Thousands(124439808) != "124,439,808" || lm.Thousands(-1000) != "-1,000" || lm.Thousands(999) != "999" {
		t.Error("thousands")
	}
}

func TestShow(t *testing.T) {
	var got []string
	saveHTML := displayHTML
	defer func() { displayHTML = saveHTML }()
	displayHTML = func(h string) { got = append(got, h) }
	r := SampleResult(2, 3, false, 1)
	if err := ShowHeatmap(r, HeatmapOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Show(Heatmap(nil, HeatmapOptions{})); err == nil {
		t.Error("Show of a broken chart gave no error")
	}
	if len(got) != 1 || !strings.Contains(got[0], "window.__logitlens.mount(") {
		t.Errorf("displayed %d HTML outputs", len(got))
	}
}

func TestSeriesChart(t *testing.T) {
	c := SeriesChart([]string{"embeddings", "blocks.0", "blocks.1"}, []Series{{Name: "a", Values: []float64{26, 1.5, 0}}, {Name: HostileToken, Values: []float64{1.7, math.NaN(), 0}}},
		SeriesOptions{Title: "KL", YLabel: "nats", Log: true})
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	opt := c.Option()
	series := asList(opt["series"])
	if len(series) != 2 {
		t.Fatalf("%d series", len(series))
	}
	want := []any{26.0, 1.5, nil} // 0 cannot be drawn on a log axis
	for i, v := range series[0]["data"].([]any) {
		if v != want[i] {
			t.Errorf("series a, point %d: %v, want %v", i, v, want[i])
		}
	}
	if d := series[1]["data"].([]any); d[1] != nil || d[0] != 1.7 {
		t.Errorf("series b: %v (NaN must be a gap)", d)
	}
	if y := asList(opt["yAxis"])[0]; y["type"] != "log" || y["name"] != "nats" || y["min"] != nil {
		t.Errorf("y axis %v", y)
	}
	h, err := c.HTML()
	if err != nil || strings.Contains(h, "<img/src") {
		t.Errorf("HTML: %v (a series name must be escaped)", err)
	}
	for _, bad := range []*Chart{
		SeriesChart([]string{"a"}, []Series{{Name: "x", Values: []float64{1, 2}}}, SeriesOptions{}),
		SeriesChart(nil, nil, SeriesOptions{}),
	} {
		if bad.Err() == nil {
			t.Error("a malformed series chart gave no error")
		}
	}
}

func TestLensQuality(t *testing.T) {
	SetLanguage(Russian)
	defer SetLanguage(English)
	c := LensQuality([]lensnb.LayerQuality{{State: "embeddings", LogitKL: 26, TunedKL: 1.7}, {State: "blocks.0", LogitKL: 1.5, TunedKL: 0.19}}, SeriesOptions{Log: true})
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	opt := c.Option()
	series := asList(opt["series"])
	if len(series) != 2 || series[0]["name"] != "логит-линза" || series[1]["name"] != "настроенная линза" {
		t.Fatalf("series %v", series)
	}
	if d := series[1]["data"].([]any); d[0] != 1.7 || d[1] != 0.19 {
		t.Errorf("tuned KL %v", d)
	}
	if x := asList(opt["xAxis"])[0]["data"].([]any); x[0] != "эмбеддинги" || x[1] != "блок 0" {
		t.Errorf("states %v", x)
	}
	if !strings.Contains(c.Title, "KL") {
		t.Errorf("title %q", c.Title)
	}
}
