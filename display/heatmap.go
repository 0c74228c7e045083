package display

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/logitlens-go/logitlens/lensnb"
)

// CellText chooses what the heatmap cells show.
type CellText int

const (
	// CellToken shows each state's top-1 token (the default).
	CellToken CellText = iota
	// CellValue shows the metric's value.
	CellValue
	// CellNone shows nothing in the cells (hover still shows the top-k).
	CellNone
)

// HeatmapOptions configures Heatmap. The zero value is a probability heatmap
// with RdYlBu_r colours around 0.5, top-1 tokens in the cells and the top-k in
// the tooltips.
type HeatmapOptions struct {
	// Metric colours the cells: lensnb.MetricProb (default), MetricEntropy,
	// MetricKL, MetricRankOfFinal / MetricNextRank (log scale), MetricFinalLogit,
	// MetricNextProb, MetricTargetProb, or this package's MetricFinalProb and
	// MetricTopLogit. Cells without a value (NaN) are grey.
	Metric lensnb.Metric
	// Scale sets the colour scale (min, midpoint, max, palette).
	Scale ScaleOptions
	// Title replaces the default title ("Logit lens: <metric>", in the language
	// SetLanguage chose).
	Title string
	// Cells chooses the cell text (top-1 token by default).
	Cells CellText
	// TopK is how many of each cell's top tokens the tooltip lists (default: all
	// the Result has, at most 10).
	TopK int
	// CellWidth and CellHeight in pixels (defaults 58 and 26).
	CellWidth, CellHeight int
	// MaxVisibleColumns and MaxVisibleRows bound the visible window (defaults 20
	// and 40); larger results scroll and zoom with sliders (dataZoom); drag the
	// cells to pan, shift+wheel to zoom.
	MaxVisibleColumns, MaxVisibleRows int
	// JS chooses where the HTML gets ECharts from (default JSInline: offline).
	JS JS
	// SVG renders with ECharts' SVG renderer instead of canvas.
	SVG bool
}

// heatmapMeta is what the heatmap's JavaScript formatters read (tokens already
// made visible; every string is escaped by the formatters).
type heatmapMeta struct {
	States      []string       `json:"states"`
	Columns     []heatmapCol   `json:"columns"`
	Labels      [][]string     `json:"labels"`
	Top         [][][]any      `json:"top"` // [state][column][rank] = [token, prob, id]
	Values      [][]*float64   `json:"values"`
	MetricLabel string         `json:"metricLabel"`
	ColumnWord  string         `json:"columnWord"`
	Generate    bool           `json:"generate"`
	Log         bool           `json:"log"`
	Renderer    string         `json:"renderer"`
	Scale       map[string]any `json:"scale"`
	// Words are the tooltip's own words, in the current language.
	Words map[string]string `json:"words"`
}

// tooltipWords are the words the JavaScript formatters add (see runtimeJS).
func tooltipWords() map[string]string {
	return map[string]string{
		"generated":  tr("generated", "выбран"),
		"token":      tr("token", "токен"),
		"next":       tr("next", "следующий"),
		"logitThere": tr("the logit there", "логит в этой позиции"),
		"noECharts":  tr("ECharts did not load", "ECharts не загрузился"),
	}
}

type heatmapCol struct {
	Tok    string  `json:"tok"`
	Pos    int     `json:"pos"`
	Next   *string `json:"next"`
	NextID *int    `json:"nextId"`
	Agrees bool    `json:"agrees"` // the final layer's top-1 is the actual next token
}

// checkResult reports whether r has the shape the charts need.
func checkResult(r *lensnb.Result) error {
	switch {
	case r == nil:
		return fmt.Errorf("display: nil Result")
	case len(r.States) == 0 || len(r.Columns) == 0:
		return fmt.Errorf("display: empty Result (%d states, %d columns)", len(r.States), len(r.Columns))
	case len(r.Cells) != len(r.States):
		return fmt.Errorf("display: Result has %d rows of cells for %d states", len(r.Cells), len(r.States))
	}
	for s, row := range r.Cells {
		if len(row) != len(r.Columns) {
			return fmt.Errorf("display: Result row %d (%s) has %d cells for %d columns", s, r.States[s], len(row), len(r.Columns))
		}
	}
	return nil
}

// metricGrid is metric m of every cell of r, [state][column].
func metricGrid(r *lensnb.Result, m lensnb.Metric) [][]float64 {
	vals := make([][]float64, len(r.States))
	for s := range vals {
		vals[s] = make([]float64, len(r.Columns))
		for col := range vals[s] {
			vals[s][col] = metricValue(r, s, col, m)
		}
	}
	return vals
}

// agrees reports whether the final state's top-1 at column c is the actual next token.
func agrees(r *lensnb.Result, c int) bool {
	col := r.Columns[c]
	if col.NextID < 0 {
		return false
	}
	last := r.Cells[len(r.Cells)-1][c]
	if len(last.Top) > 0 {
		return last.Top[0].ID == col.NextID
	}
	return last.TopIsNext
}

// nextLabel is the top axis's label of column c: the actual next token, with ✓
// where the final layer's top-1 matches it.
func nextLabel(r *lensnb.Result, c int, static bool) string {
	col := r.Columns[c]
	if col.NextID < 0 {
		return "–"
	}
	t := visibleToken(col.NextToken, static)
	if agrees(r, c) {
		if static {
			return "√ " + t
		}
		return "✓ " + t
	}
	return t
}

// formatValue formats a metric value for a cell label.
func formatValue(v float64, info metricInfo) string {
	switch {
	case math.IsNaN(v):
		return ""
	case info.log:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case info.prob:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

func nanToNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func metricOrDefault(m lensnb.Metric) (lensnb.Metric, error) {
	if m == "" {
		return lensnb.MetricProb, nil
	}
	if !knownMetric(m) {
		return "", fmt.Errorf("display: unknown metric %q", m)
	}
	return m, nil
}

// Heatmap builds an interactive logit-lens heatmap of r: one row per state
// (embeddings at the bottom, the final layer on top), one column per position
// (or generated token), labelled with its token at the bottom and the actual
// next token at the top (✓ where the final layer's top-1 is that token). The
// colour is opts.Metric on a diverging palette; each cell shows its top-1 token
// and hovering lists the top-k with probabilities, the layer and the position.
//
// Errors (an inconsistent Result, bad options) are reported by Chart.Err and by
// HTML, Page and WritePage.
func Heatmap(r *lensnb.Result, o HeatmapOptions) *Chart {
	c := &Chart{id: newID(), kind: "heatmap", JS: o.JS}
	c.err = c.buildHeatmap(r, o)
	return c
}

func (c *Chart) buildHeatmap(r *lensnb.Result, o HeatmapOptions) error {
	if err := checkResult(r); err != nil {
		return err
	}
	m, err := metricOrDefault(o.Metric)
	if err != nil {
		return err
	}
	info := infoOf(m)
	nS, nC := len(r.States), len(r.Columns)
	vals := metricGrid(r, m)
	sc, err := newScale(m, o.Scale, vals)
	if err != nil {
		return err
	}

	cellW, cellH := o.CellWidth, o.CellHeight
	if cellW <= 0 {
		cellW = 58
	}
	if cellH <= 0 {
		cellH = 26
		if o.Cells == CellTokenValue {
			cellH = 34
		}
	}
	visC, visR := o.MaxVisibleColumns, o.MaxVisibleRows
	if visC <= 0 {
		visC = 20
	}
	if visR <= 0 {
		visR = 40
	}
	visC, visR = min(visC, nC), min(visR, nS)
	topK := o.TopK
	if topK <= 0 {
		topK = 10
	}
	labelRunes := max(2, (cellW-6)/7)

	c.Title = plainText(o.Title)
	if c.Title == "" {
		c.Title = lensName(r) + ": " + info.label
	}
	subtitle := tr("rows: states (embeddings at the bottom, final layer on top) · bottom: input tokens · top: actual next token (✓ = the final layer's top-1)",
		"строки: состояния (эмбеддинги внизу, последнее состояние вверху) · снизу: входные токены · сверху: настоящий следующий токен (✓ — он же top-1 последнего состояния)")
	if r.Mode == "generate" {
		subtitle = tr("rows: states (embeddings at the bottom, final layer on top) · columns: generation steps · bottom/top: generated token (✓ = the final layer's top-1)",
			"строки: состояния (эмбеддинги внизу, последнее состояние вверху) · столбцы: шаги генерации · снизу и сверху: выбранный на шаге токен (✓ — он же top-1 последнего состояния)")
	}
	if r.Model != "" {
		subtitle = plainText(r.Model) + " · " + subtitle
	}

	// Axes, metadata for the tooltips, and the data.
	states := stateLabels(r.States)
	meta := heatmapMeta{
		States:      states,
		MetricLabel: info.label,
		ColumnWord:  tr("position", "позиция"),
		Words:       tooltipWords(),
		Generate:    r.Mode == "generate",
		Log:         info.log,
		Renderer:    "canvas",
		Scale:       map[string]any{"min": sc.untr(sc.min), "mid": sc.untr(sc.mid), "max": sc.untr(sc.max)},
	}
	if o.SVG {
		meta.Renderer = "svg"
	}
	bottom := make([]string, nC)
	top := make([]string, nC)
	for col, cc := range r.Columns {
		tok := VisibleToken(cc.Token)
		bottom[col] = tok
		top[col] = nextLabel(r, col, false)
		hc := heatmapCol{Tok: tok, Pos: cc.Position, Agrees: agrees(r, col)}
		if cc.NextID >= 0 {
			next, id := VisibleToken(cc.NextToken), cc.NextID
			hc.Next, hc.NextID = &next, &id
		}
		meta.Columns = append(meta.Columns, hc)
	}
	var data, missing []opts.HeatMapData
	labelColors := map[int]string{} // index in data → label colour, where not black
	meta.Labels = make([][]string, nS)
	meta.Top = make([][][]any, nS)
	meta.Values = make([][]*float64, nS)
	for s := range nS {
		meta.Labels[s] = make([]string, nC)
		meta.Top[s] = make([][]any, nC)
		meta.Values[s] = make([]*float64, nC)
		for col := range nC {
			cell := &r.Cells[s][col]
			v := vals[s][col]
			meta.Values[s][col] = nanToNil(v)
			switch o.Cells {
			case CellToken:
				if len(cell.Top) > 0 {
					meta.Labels[s][col] = shorten(VisibleToken(cell.Top[0].Token), labelRunes)
				}
			case CellValue:
				meta.Labels[s][col] = formatValue(v, info)
			case CellTokenValue:
				if len(cell.Top) > 0 {
					meta.Labels[s][col] = shorten(VisibleToken(cell.Top[0].Token), labelRunes) + "\n" + formatValue(v, info)
				}
			}
			tops := make([]any, 0, min(topK, len(cell.Top)))
			for k := 0; k < len(cell.Top) && k < topK; k++ {
				tp := cell.Top[k]
				tops = append(tops, []any{VisibleToken(tp.Token), nanToNil(round6(tp.Prob)), tp.ID})
			}
			meta.Top[s][col] = tops
			if math.IsNaN(v) || math.IsInf(v, 0) {
				missing = append(missing, opts.HeatMapData{Value: []any{col, s, 0}})
				continue
			}
			if tc := textColorOn(sc.color(v)); tc.R == 255 {
				labelColors[len(data)] = "#ffffff"
			}
			data = append(data, opts.HeatMapData{Value: []any{col, s, round6(sc.tr(v))}})
		}
	}

	// Layout, in pixels.
	maxState := 0
	for _, s := range states {
		maxState = max(maxState, utf8.RuneCountInString(s))
	}
	left := max(64, 16+7*maxState)
	right := 96
	gridTop := 86
	if w := left + visC*cellW + right - 20; utf8.RuneCountInString(subtitle)*6 > w {
		subtitle = wrapAtDot(subtitle, w/6)
		gridTop += 14 * strings.Count(subtitle, "\n")
	}
	bottomPad := 34
	if nC > visC {
		bottomPad += 34
	}
	if nS > visR {
		left += 26
	}
	c.width = max(520, left+visC*cellW+right) // a narrow result stretches its cells, leaving room for the title
	c.height = gridTop + visR*cellH + bottomPad

	hm := charts.NewHeatMap()
	hm.SetGlobalOptions(append(c.frameOpts(subtitle, left, right, gridTop, bottomPad),
		charts.WithXAxisOpts(opts.XAxis{
			Type: "category", Position: "bottom", Data: bottom,
			AxisLabel:   &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11},
			SplitArea:   &opts.SplitArea{Show: opts.Bool(false)},
			AxisTick:    &opts.AxisTick{Show: opts.Bool(false)},
			BoundaryGap: opts.Bool(true),
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Type: "category", Data: states,
			AxisLabel: &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11},
		}),
		charts.WithVisualMapOpts(opts.VisualMap{
			Type: "continuous", Calculable: opts.Bool(true), Orient: "vertical",
			Right: "8", Top: "middle",
			InRange: &opts.VisualMapInRange{Color: sc.stops(33)},
		}),
	)...)
	hm.ExtendXAxis(opts.XAxis{
		Type: "category", Position: "top", Data: top,
		AxisLabel:   &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11},
		AxisTick:    &opts.AxisTick{Show: opts.Bool(false)},
		BoundaryGap: opts.Bool(true),
	})
	showLabels := o.Cells != CellNone
	hm.AddSeries("lens", data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(showLabels), FontSize: 11, Color: "#000000"}),
		charts.WithEmphasisOpts(opts.Emphasis{ItemStyle: &opts.ItemStyle{BorderColor: "#000", BorderWidth: 1.5}}))
	hm.AddSeries("no value", missing, charts.WithLabelOpts(opts.Label{Show: opts.Bool(showLabels), FontSize: 11, Color: "#333333"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#d9d9d9"}),
		charts.WithEmphasisOpts(opts.Emphasis{ItemStyle: &opts.ItemStyle{BorderColor: "#000", BorderWidth: 1.5}}))

	opt, err := optionOf(hm)
	if err != nil {
		return err
	}
	// Complete what go-echarts' option types cannot express.
	opt["legend"] = map[string]any{"show": false}
	opt["backgroundColor"] = "#ffffff" // readable in dark notebook themes too
	for _, ti := range asList(opt["title"]) {
		if st, ok := ti["subtextStyle"].(map[string]any); ok {
			st["lineHeight"] = 14
		}
	}
	opt["toolbox"] = map[string]any{"show": false}
	for k, v := range map[string]any{"confine": true, "className": "logitlens-tooltip", "textStyle": map[string]any{"color": "#222"}} {
		if err := setPath(opt, []string{"tooltip", k}, v); err != nil {
			return err
		}
	}
	xs := asList(opt["xAxis"])
	if len(xs) != 2 {
		return fmt.Errorf("display: the heatmap option has %d x axes, want 2", len(xs))
	}
	for _, ax := range xs {
		lab, ok := ax["axisLabel"].(map[string]any)
		if !ok {
			return fmt.Errorf("display: an x axis of the heatmap option has no axisLabel")
		}
		lab["width"] = cellW - 4
		lab["overflow"] = "truncate"
		ax["splitArea"] = map[string]any{"show": false}
	}
	xs[1]["axisLabel"].(map[string]any)["color"] = "#333" // checked above
	vms := asList(opt["visualMap"])
	if len(vms) != 1 {
		return fmt.Errorf("display: the heatmap option has %d visual maps, want 1", len(vms))
	}
	vm := vms[0]
	vm["min"], vm["max"] = round6(sc.min), round6(sc.max)
	vm["seriesIndex"] = 0
	vm["precision"] = 2
	vm["itemHeight"] = min(220, max(80, visR*cellH-40))
	vm["textStyle"] = map[string]any{"fontSize": 11}
	series := asList(opt["series"])
	for _, sr := range series {
		if lab, ok := sr["label"].(map[string]any); ok && o.Cells == CellTokenValue {
			lab["lineHeight"] = 13
			lab["fontSize"] = 10
		}
	}
	for i, sr := range series {
		sr["xAxisIndex"], sr["yAxisIndex"] = 0, 0
		sr["labelLayout"] = map[string]any{"hideOverlap": true}
		sr["progressive"] = 4000
		if i == 0 {
			items, _ := sr["data"].([]any)
			for k, col := range labelColors {
				var item map[string]any
				if k < len(items) {
					item, _ = items[k].(map[string]any)
				}
				if item == nil {
					return fmt.Errorf("display: the heatmap option's data item %d is not an object", k)
				}
				item["label"] = map[string]any{"color": col}
			}
		}
		if sr["data"] == nil {
			sr["data"] = []any{}
		}
	}
	var zoom []any
	if nC > visC {
		zoom = append(zoom,
			map[string]any{"type": "slider", "xAxisIndex": []int{0, 1}, "startValue": 0, "endValue": visC - 1,
				"bottom": 6, "height": 18, "filterMode": "filter", "showDetail": false, "brushSelect": false},
			map[string]any{"type": "inside", "xAxisIndex": []int{0, 1}, "startValue": 0, "endValue": visC - 1,
				"filterMode": "filter", "zoomOnMouseWheel": "shift", "moveOnMouseWheel": false, "moveOnMouseMove": true})
	}
	if nS > visR {
		zoom = append(zoom,
			map[string]any{"type": "slider", "yAxisIndex": []int{0}, "startValue": nS - visR, "endValue": nS - 1,
				"left": 6, "width": 16, "filterMode": "filter", "showDetail": false, "brushSelect": false})
	}
	if zoom != nil {
		opt["dataZoom"] = zoom
	}
	c.option, c.meta = opt, meta
	return nil
}

// frameOpts are the options every chart of this package shares: its size and id,
// no animation, the title and subtitle, an item tooltip and the grid's margins
// in pixels.
func (c *Chart) frameOpts(subtitle string, left, right, top, bottom int) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{
			Width: fmt.Sprintf("%dpx", c.width), Height: fmt.Sprintf("%dpx", c.height), ChartID: c.id,
		}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{
			Title: c.Title, Subtitle: subtitle, Left: "8",
			TitleStyle:    &opts.TextStyle{FontSize: 15},
			SubtitleStyle: &opts.TextStyle{FontSize: 11, Color: "#555"},
		}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", BackgroundColor: "#ffffff", BorderColor: "#999"}),
		charts.WithGridOpts(opts.Grid{
			Left: strconv.Itoa(left), Right: strconv.Itoa(right),
			Top: strconv.Itoa(top), Bottom: strconv.Itoa(bottom),
		}),
	}
}

// wrapAtDot breaks s into lines of at most n runes at its " · " separators
// (a part longer than n stays whole).
func wrapAtDot(s string, n int) string {
	parts := strings.Split(s, " · ")
	var lines []string
	cur := ""
	for _, p := range parts {
		switch {
		case cur == "":
			cur = p
		case utf8.RuneCountInString(cur)+3+utf8.RuneCountInString(p) <= n:
			cur += " · " + p
		default:
			lines = append(lines, cur)
			cur = p
		}
	}
	return strings.Join(append(lines, cur), "\n")
}

// asList returns the objects of an option list (or the single object).
func asList(v any) []map[string]any {
	switch t := v.(type) {
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	case map[string]any:
		return []map[string]any{t}
	}
	return nil
}

// round6 rounds to 6 significant decimals, for compact JSON.
func round6(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return r
}
