package display

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/logitlens-go/logitlens/lensnb"
)

// DefaultLineMetrics are the panels of Lines by default, tuned-lens style: the
// probability of the final layer's top-1 token, entropy, KL to the final layer
// and the rank of the final top-1 token (log scale).
var DefaultLineMetrics = []lensnb.Metric{MetricFinalProb, lensnb.MetricEntropy, lensnb.MetricKL, lensnb.MetricRankOfFinal}

// LinesOptions configures Lines.
type LinesOptions struct {
	// Metrics, one panel each, sharing the x axis (the states) and the legend
	// (the columns); default DefaultLineMetrics. Rank metrics use a log y axis.
	Metrics []lensnb.Metric
	// Columns are indices into Result.Columns (prompt mode: the positions), one
	// line each; default every column when there are at most 8, else the last 8.
	Columns []int
	// Title replaces the default title.
	Title string
	// Width and PanelHeight in pixels (defaults 900 and 210).
	Width, PanelHeight int
	// JS chooses where the HTML gets ECharts from (default JSInline: offline).
	JS JS
}

type linesMeta struct {
	States   []string    `json:"states"`
	Grids    []linesGrid `json:"grids"`
	Renderer string      `json:"renderer"`
	// Words are the tooltip's own words, in the current language.
	Words map[string]string `json:"words"`
}

type linesGrid struct {
	Label string `json:"label"`
	Log   bool   `json:"log"`
}

// Lines builds per-position line charts over the layers: one panel per metric,
// one line per chosen column, the states (embeddings … final layer) along x.
// Hovering shows every line's value at that state.
func Lines(r *lensnb.Result, o LinesOptions) *Chart {
	c := &Chart{id: newID(), kind: "lines", JS: o.JS}
	c.err = c.buildLines(r, o)
	return c
}

func (c *Chart) buildLines(r *lensnb.Result, o LinesOptions) error {
	if err := checkResult(r); err != nil {
		return err
	}
	metrics := o.Metrics
	if len(metrics) == 0 {
		metrics = DefaultLineMetrics
	}
	checked := make([]lensnb.Metric, len(metrics))
	for i, m := range metrics {
		mm, err := metricOrDefault(m)
		if err != nil {
			return err
		}
		checked[i] = mm
	}
	metrics = checked
	cols := o.Columns
	if len(cols) == 0 {
		for i := max(0, len(r.Columns)-8); i < len(r.Columns); i++ {
			cols = append(cols, i)
		}
	}
	for _, col := range cols {
		if col < 0 || col >= len(r.Columns) {
			return fmt.Errorf("display: column %d out of range [0, %d)", col, len(r.Columns))
		}
	}
	title := plainText(o.Title)
	if title == "" {
		title = lensName(r) + tr(" by layer", " по состояниям")
		if r.Model != "" {
			title += " · " + plainText(r.Model)
		}
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		cc := r.Columns[col]
		names[i] = strconv.Itoa(cc.Position) + ": " + shorten(VisibleToken(cc.Token), 14)
		if cc.NextID >= 0 {
			names[i] += " → " + shorten(VisibleToken(cc.NextToken), 14)
		}
	}
	var panels []linePanel
	for _, m := range metrics {
		info := infoOf(m)
		p := linePanel{label: info.label, log: info.log, prob: info.prob, rank: info.log}
		if info.log { // a log axis cannot show rank 0, so the lines are rank + 1: the axis says so
			p.label += tr(" (rank + 1, log scale)", " (ранг + 1, лог. шкала)")
		}
		for j, col := range cols {
			vals := make([]float64, len(r.States))
			for s := range r.States {
				vals[s] = metricValue(r, s, col, m)
				if info.log && !math.IsNaN(vals[s]) {
					vals[s]++ // a log axis cannot show rank 0
				}
			}
			p.lines = append(p.lines, Series{Name: names[j], Values: vals})
		}
		panels = append(panels, p)
	}
	return c.buildPanels(title, stateLabels(r.States), panels, o.Width, o.PanelHeight)
}

// linePanel is one panel of a line chart: its y axis and its lines.
type linePanel struct {
	label     string
	log, prob bool // a log axis (values > 0); an axis from 0 to 1
	rank      bool // ranks + 1 on a log axis: it starts at 1
	lines     []Series
}

// buildPanels lays out panels sharing the categories x along their x axes and
// one legend (the lines of each panel have the same names).
func (c *Chart) buildPanels(title string, x []string, panels []linePanel, width, panelH int) error {
	if width <= 0 {
		width = 900
	}
	if panelH <= 0 {
		panelH = 210
	}
	c.Title = title
	maxState := 0
	for _, s := range x {
		maxState = max(maxState, utf8.RuneCountInString(s))
	}
	const top0, gap, left = 70, 46, 80
	bottomPad := 24 + 6*maxState // rotated state names
	c.width = width
	c.height = top0 + len(panels)*panelH + (len(panels)-1)*gap + bottomPad

	meta := linesMeta{States: x, Renderer: "canvas", Words: tooltipWords()}
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{
			Width: fmt.Sprintf("%dpx", c.width), Height: fmt.Sprintf("%dpx", c.height), ChartID: c.id,
		}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: c.Title, Left: "8", TitleStyle: &opts.TextStyle{FontSize: 15}}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", BackgroundColor: "#ffffff", BorderColor: "#999"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "32", Left: "8", Right: "8"}),
	)
	line.SetXAxis(x)
	var grids []opts.Grid
	nLines := 0
	for i, p := range panels {
		meta.Grids = append(meta.Grids, linesGrid{Label: p.label, Log: p.log})
		top := top0 + i*(panelH+gap)
		grids = append(grids, opts.Grid{Left: strconv.Itoa(left), Right: "24", Top: strconv.Itoa(top), Height: strconv.Itoa(panelH)})
		if i > 0 {
			line.ExtendXAxis(opts.XAxis{})
			line.ExtendYAxis(opts.YAxis{})
		}
		nLines = len(p.lines)
		for _, l := range p.lines {
			if len(l.Values) != len(x) {
				return fmt.Errorf("display: series %q has %d values for %d categories", l.Name, len(l.Values), len(x))
			}
			data := make([]opts.LineData, len(x))
			for s, v := range l.Values {
				if !math.IsNaN(v) && !math.IsInf(v, 0) && !(p.log && v <= 0) {
					data[s] = opts.LineData{Value: round6(v)}
				}
			}
			line.AddSeries(plainText(l.Name), data, charts.WithLineChartOpts(opts.LineChart{XAxisIndex: i, YAxisIndex: i, ShowSymbol: opts.Bool(true)}))
		}
	}
	line.SetGlobalOptions(charts.WithGridOpts(grids...))

	opt, err := optionOf(line)
	if err != nil {
		return err
	}
	opt["toolbox"] = map[string]any{"show": false}
	opt["backgroundColor"] = "#ffffff"
	for k, v := range map[string]any{"confine": true, "className": "logitlens-tooltip", "textStyle": map[string]any{"color": "#222"}} {
		if err := setPath(opt, []string{"tooltip", k}, v); err != nil {
			return err
		}
	}
	xs, ys := asList(opt["xAxis"]), asList(opt["yAxis"])
	for i, p := range panels {
		xa := map[string]any{"type": "category", "gridIndex": i, "data": x, "boundaryGap": false,
			"axisLabel": map[string]any{"show": i == len(panels)-1, "interval": 0, "rotate": 45, "fontSize": 10}}
		y := map[string]any{"type": "value", "gridIndex": i, "name": p.label, "nameLocation": "middle",
			"nameGap": 52, "nameTextStyle": map[string]any{"fontSize": 11}, "axisLabel": map[string]any{"fontSize": 10}}
		switch {
		case p.log && p.rank:
			y["type"], y["logBase"], y["min"] = "log", 10, 1
		case p.log:
			y["type"], y["logBase"] = "log", 10
		case p.prob:
			y["min"], y["max"] = 0, 1
		}
		if i < len(xs) {
			xs[i] = xa
		}
		if i < len(ys) {
			ys[i] = y
		}
	}
	opt["xAxis"], opt["yAxis"] = xs, ys
	for k, sr := range asList(opt["series"]) {
		i := k / max(1, nLines)
		sr["xAxisIndex"], sr["yAxisIndex"] = i, i
		sr["connectNulls"] = false
		sr["symbolSize"] = 5
		var data []any
		items, ok := sr["data"].([]any)
		if !ok && sr["data"] != nil {
			return fmt.Errorf("display: the lines option's series data is not a list")
		}
		for _, d := range items {
			m, _ := d.(map[string]any) // a missing value comes as {} or null
			if v, ok := m["value"]; ok {
				data = append(data, v)
			} else {
				data = append(data, nil)
			}
		}
		sr["data"] = data
	}
	opt["axisPointer"] = map[string]any{"link": []any{map[string]any{"xAxisIndex": "all"}}}
	c.option, c.meta = opt, meta
	return nil
}

// Series is one named line: a value per category of the x axis (NaN: a gap).
type Series struct {
	Name   string
	Values []float64
}

// SeriesOptions configures SeriesChart.
type SeriesOptions struct {
	Title  string
	YLabel string
	// Log draws the y axis on a log scale (values ≤ 0 are left out).
	Log bool
	// Width and Height in pixels (defaults 900 and 260).
	Width, Height int
	JS            JS
}

// SeriesChart draws named series over categories x (the states, say), one line
// each, with the lens charts' tooltip: for numbers that are not a lens Result.
func SeriesChart(x []string, series []Series, o SeriesOptions) *Chart {
	c := &Chart{id: newID(), kind: "lines", JS: o.JS}
	h := o.Height
	if h <= 0 {
		h = 260
	}
	if len(x) == 0 || len(series) == 0 {
		c.err = fmt.Errorf("display: a series chart needs categories and series (got %d and %d)", len(x), len(series))
		return c
	}
	labels := make([]string, len(x))
	for i, s := range x {
		labels[i] = plainText(s)
	}
	c.err = c.buildPanels(plainText(o.Title), labels, []linePanel{{label: plainText(o.YLabel), log: o.Log, lines: series}}, o.Width, h)
	return c
}

// LensQuality draws how close each state of the logit lens and of a tuned lens
// is to the final distribution (lensnb.CompareLenses): the mean KL per state, one
// line per lens.
func LensQuality(q []lensnb.LayerQuality, o SeriesOptions) *Chart {
	var states []string
	logit, tuned := Series{Name: tr("logit lens", "логит-линза")}, Series{Name: tr("tuned lens", "настроенная линза")}
	for _, l := range q {
		states = append(states, l.State)
		logit.Values = append(logit.Values, l.LogitKL)
		tuned.Values = append(tuned.Values, l.TunedKL)
	}
	if o.YLabel == "" {
		o.YLabel = infoOf(lensnb.MetricKL).label
	}
	if o.Title == "" {
		o.Title = tr("Logit lens and tuned lens: KL to the final layer", "Логит-линза и настроенная линза: KL до итога")
	}
	return SeriesChart(stateLabels(states), []Series{logit, tuned}, o)
}
