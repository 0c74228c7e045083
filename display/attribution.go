package display

// Charts of a direct logit attribution (lensnb.Attribution): a components ×
// positions heatmap for the attributed token, a layers × heads heatmap at one
// position, and the contributions at one position as bars.

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

// RdBuR is ColorBrewer's 11-class RdBu reversed: blue for negative, white at
// zero, red for positive values. Attribution charts use it, centred on zero.
var RdBuR = Palette{
	"#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
	"#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
}

// AttributionOptions tunes the attribution charts.
type AttributionOptions struct {
	// Title replaces the default title.
	Title string
	// Max fixes the colour scale to [-Max, Max]; 0 takes the largest |value|.
	Max float64
	// JS chooses where the HTML gets ECharts from (JSInline by default).
	JS JS
}

// matrixMeta is what the "matrix" hook of runtimeJS needs for labels and tooltips.
type matrixMeta struct {
	Rows    []string `json:"rows"`
	Cols    []string `json:"cols"`
	ColWord string   `json:"colWord"`
	// ValueLabel names a cell's value in the tooltip.
	ValueLabel string      `json:"valueLabel"`
	Values     [][]float64 `json:"values"`
	Total      []float64   `json:"total"` // per column: the logit the values add up to (with the bias)
	Labels     [][]string  `json:"labels"`
	Renderer   string      `json:"renderer"`
	// Words are the tooltip's own words, in the current language.
	Words map[string]string `json:"words"`
}

// attributionWhat names what is attributed: "logit of ␣Paris" or "␣Paris − ␣Rome".
func attributionWhat(a *lensnb.Attribution) string {
	if a.Versus >= 0 {
		return fmt.Sprintf(tr("logit difference %s − %s", "разность логитов %s − %s"), VisibleToken(a.TokenText), VisibleToken(a.VersusText))
	}
	return tr("logit of ", "логит ") + VisibleToken(a.TokenText)
}

// attributionAt checks a and returns its attribution at position.
func attributionAt(a *lensnb.Attribution, position int) (lensnb.AttributionAt, error) {
	if err := checkAttribution(a); err != nil {
		return lensnb.AttributionAt{}, err
	}
	at, err := a.Position(position)
	if err != nil {
		return at, fmt.Errorf("display: %w", err)
	}
	return at, nil
}

func checkAttribution(a *lensnb.Attribution) error {
	if a == nil || len(a.InputIDs) == 0 || len(a.Direct) != len(a.Components) {
		return fmt.Errorf("display: the attribution is empty or inconsistent")
	}
	for _, row := range a.Direct {
		if len(row) != len(a.InputIDs) {
			return fmt.Errorf("display: the attribution is inconsistent: %d values for %d positions", len(row), len(a.InputIDs))
		}
	}
	return nil
}

// AttributionHeatmap draws every component's direct contribution (rows: embed and
// pos_embed at the bottom, then each block's attention and MLP) at every position
// (columns), in logit units: red pushes the logit up, blue down.
func AttributionHeatmap(a *lensnb.Attribution, o AttributionOptions) *Chart {
	c := &Chart{id: newID(), kind: "matrix", JS: o.JS}
	if c.err = checkAttribution(a); c.err != nil {
		return c
	}
	cols := make([]string, len(a.Tokens))
	for t, tok := range a.Tokens {
		cols[t] = VisibleToken(tok)
	}
	title := o.Title
	if title == "" {
		title = tr("Direct logit attribution: ", "Прямая атрибуция логита: ") + attributionWhat(a)
	}
	sub := tr("rows: what wrote into the residual stream (embeddings at the bottom) · columns: positions · value: direct contribution to the logit, ln_f's scale frozen",
		"строки: что дописало в остаточный поток (эмбеддинги внизу) · столбцы: позиции · значение: прямой вклад в логит при замороженном масштабе ln_f")
	c.err = c.buildMatrix(title, sub, a.Components, cols, tr("position", "позиция"), tr("direct contribution", "прямой вклад"), a.Direct, a.Logit, o)
	return c
}

// HeadHeatmap draws each attention head's direct contribution at one position
// (negative: from the end, -1 is the last): rows are blocks, columns heads.
func HeadHeatmap(a *lensnb.Attribution, position int, o AttributionOptions) *Chart {
	c := &Chart{id: newID(), kind: "matrix", JS: o.JS}
	at, err := attributionAt(a, position)
	if err != nil {
		c.err = err
		return c
	}
	if len(a.Heads) == 0 {
		c.err = fmt.Errorf("display: the attribution has no heads")
		return c
	}
	nh := len(a.Heads[0])
	rows := make([]string, len(a.Heads))
	vals := make([][]float64, len(a.Heads))
	for i := range a.Heads {
		rows[i] = fmt.Sprintf("blocks.%d", i) // translated by buildMatrix
		vals[i] = make([]float64, nh)
		for h := range vals[i] {
			vals[i][h] = a.Heads[i][h][at.Position]
		}
	}
	cols := make([]string, nh)
	for h := range cols {
		cols[h] = tr("head ", "голова ") + strconv.Itoa(h)
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf(tr("Heads: %s at position %d (%s)", "Головы: %s, позиция %d (%s)"), attributionWhat(a), at.Position, VisibleToken(at.Token))
	}
	sub := tr("rows: blocks (block 0 at the bottom) · columns: heads · value: the head's direct contribution through c_proj",
		"строки: блоки (блок 0 внизу) · столбцы: головы · значение: прямой вклад головы через c_proj")
	c.err = c.buildMatrix(title, sub, rows, cols, tr("head", "голова"), tr("direct contribution", "прямой вклад"), vals, nil, o)
	return c
}

// buildMatrix is the heatmap both attribution heatmaps share: rows × cols of
// values on a diverging scale centred on zero, values written in the cells.
func (c *Chart) buildMatrix(title, subtitle string, rows, cols []string, colWord, valueLabel string, vals [][]float64, total []float64, o AttributionOptions) error {
	c.Title = plainText(title)
	limit := o.Max
	if limit < 0 || math.IsNaN(limit) || math.IsInf(limit, 0) {
		return fmt.Errorf("display: AttributionOptions.Max %v must be a positive number (0: from the data)", o.Max)
	}
	if limit == 0 {
		for _, row := range vals {
			for _, v := range row {
				limit = math.Max(limit, math.Abs(v))
			}
		}
		if limit == 0 {
			limit = 1
		}
	}
	limit = math.Ceil(limit*1e6) / 1e6 // the scale's bounds are written with 6 decimals: round outwards
	sc := &scale{pal: RdBuR, min: -limit, mid: 0, max: limit}
	meta := matrixMeta{ColWord: colWord, ValueLabel: valueLabel, Values: vals, Total: total, Renderer: "canvas", Words: tooltipWords()}
	meta.Rows = stateLabels(rows)
	meta.Cols = cols
	var data []opts.HeatMapData
	labelColors := map[int]string{}
	meta.Labels = make([][]string, len(rows))
	for r := range rows {
		meta.Labels[r] = make([]string, len(cols))
		for col := range cols {
			v := vals[r][col]
			meta.Labels[r][col] = strconv.FormatFloat(v, 'f', 1, 64)
			if tc := textColorOn(sc.color(v)); tc.R == 255 {
				labelColors[len(data)] = "#ffffff"
			}
			data = append(data, opts.HeatMapData{Value: []any{col, r, round6(v)}})
		}
	}
	maxRow := 0
	for _, r := range meta.Rows {
		maxRow = max(maxRow, utf8.RuneCountInString(r))
	}
	const cellW, cellH = 58, 22
	visC := min(len(cols), 24)
	left, right, gridTop, bottomPad := max(64, 16+7*maxRow), 96, 86, 34
	if len(cols) > visC {
		bottomPad += 34
	}
	if w := left + visC*cellW + right - 20; utf8.RuneCountInString(subtitle)*6 > w {
		subtitle = wrapAtDot(subtitle, w/6)
		gridTop += 14 * strings.Count(subtitle, "\n")
	}
	c.width = max(520, left+visC*cellW+right, 40+9*utf8.RuneCountInString(c.Title))
	c.height = gridTop + len(rows)*cellH + bottomPad

	hm := charts.NewHeatMap()
	hm.SetGlobalOptions(append(c.frameOpts(subtitle, left, right, gridTop, bottomPad),
		charts.WithXAxisOpts(opts.XAxis{
			Type: "category", Position: "bottom", Data: cols,
			AxisLabel: &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11},
			AxisTick:  &opts.AxisTick{Show: opts.Bool(false)},
		}),
		charts.WithYAxisOpts(opts.YAxis{
			Type: "category", Data: meta.Rows,
			AxisLabel: &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11},
		}),
		charts.WithVisualMapOpts(opts.VisualMap{
			Type: "continuous", Calculable: opts.Bool(true), Orient: "vertical",
			Right: "8", Top: "middle",
			InRange: &opts.VisualMapInRange{Color: sc.stops(33)},
		}),
	)...)
	hm.AddSeries("attribution", data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), FontSize: 10, Color: "#000000"}),
		charts.WithEmphasisOpts(opts.Emphasis{ItemStyle: &opts.ItemStyle{BorderColor: "#000", BorderWidth: 1.5}}))
	opt, err := optionOf(hm)
	if err != nil {
		return err
	}
	opt["legend"] = map[string]any{"show": false}
	opt["backgroundColor"] = "#ffffff"
	opt["toolbox"] = map[string]any{"show": false}
	if err := setPath(opt, []string{"tooltip", "confine"}, true); err != nil {
		return err
	}
	if err := setPath(opt, []string{"tooltip", "textStyle"}, map[string]any{"color": "#222"}); err != nil {
		return err
	}
	if err := setPath(opt, []string{"tooltip", "className"}, "logitlens-tooltip"); err != nil {
		return err
	}
	for _, ti := range asList(opt["title"]) {
		ti["subtextStyle"] = map[string]any{"fontSize": 11, "color": "#555", "lineHeight": 14}
	}
	for _, ax := range asList(opt["xAxis"]) {
		if lab, ok := ax["axisLabel"].(map[string]any); ok {
			lab["width"], lab["overflow"] = cellW-4, "truncate"
		}
	}
	vms := asList(opt["visualMap"])
	if len(vms) != 1 {
		return fmt.Errorf("display: unexpected visualMap in the chart option")
	}
	vms[0]["min"], vms[0]["max"], vms[0]["seriesIndex"], vms[0]["precision"] = -limit, limit, 0, 2
	vms[0]["itemHeight"] = min(220, max(80, len(rows)*cellH-40))
	series := asList(opt["series"])
	if len(series) != 1 {
		return fmt.Errorf("display: unexpected series in the chart option")
	}
	items, ok := series[0]["data"].([]any)
	if !ok && len(data) > 0 {
		return fmt.Errorf("display: unexpected series data in the chart option")
	}
	for k, col := range labelColors {
		if item, ok := items[k].(map[string]any); ok {
			item["label"] = map[string]any{"color": col}
		}
	}
	series[0]["labelLayout"] = map[string]any{"hideOverlap": true}
	if len(cols) > visC {
		opt["dataZoom"] = []any{
			map[string]any{"type": "slider", "xAxisIndex": []int{0}, "startValue": 0, "endValue": visC - 1,
				"bottom": 6, "height": 18, "filterMode": "filter", "showDetail": false, "brushSelect": false},
			map[string]any{"type": "inside", "xAxisIndex": []int{0}, "startValue": 0, "endValue": visC - 1,
				"filterMode": "filter", "zoomOnMouseWheel": "shift", "moveOnMouseWheel": false, "moveOnMouseMove": true},
		}
	}
	c.option, c.meta = opt, meta
	return nil
}

// barsMeta is what the "bars" hook of runtimeJS needs for its tooltip.
type barsMeta struct {
	Names    []string          `json:"names"`
	Values   []float64         `json:"values"`
	Renderer string            `json:"renderer"`
	Words    map[string]string `json:"words"`
}

// AttributionBars draws the contributions at one position (negative: from the
// end) as horizontal bars, embeddings at the top, then the bias term and the
// logit they add up to.
func AttributionBars(a *lensnb.Attribution, position int, o AttributionOptions) *Chart {
	c := &Chart{id: newID(), kind: "bars", JS: o.JS}
	at, err := attributionAt(a, position)
	if err != nil {
		c.err = err
		return c
	}
	meta := barsMeta{Renderer: "canvas", Words: tooltipWords()}
	for _, comp := range at.Components {
		meta.Names, meta.Values = append(meta.Names, plainText(StateLabel(comp.Name))), append(meta.Values, comp.Value)
	}
	meta.Names = append(meta.Names, tr("ln_f bias", "смещение ln_f"), tr("= logit", "= логит"))
	meta.Values = append(meta.Values, at.Bias, at.Logit)
	c.Title = plainText(o.Title)
	if c.Title == "" {
		c.Title = fmt.Sprintf(tr("%s at position %d (%s)", "%s, позиция %d (%s)"), attributionWhat(a), at.Position, VisibleToken(at.Token))
	}
	var data []opts.BarData
	for i, v := range meta.Values {
		colour := "#b2182b" // pushes up
		switch {
		case i == len(meta.Values)-1:
			colour = "#444444" // the total
		case v < 0:
			colour = "#2166ac"
		}
		data = append(data, opts.BarData{Value: round6(v), ItemStyle: &opts.ItemStyle{Color: colour}})
	}
	maxName := 0
	for _, n := range meta.Names {
		maxName = max(maxName, utf8.RuneCountInString(n))
	}
	c.width, c.height = max(640, 40+9*utf8.RuneCountInString(c.Title)), 80+18*len(meta.Names)
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(c.frameOpts("", max(80, 16+7*maxName), 40, 50, 30),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: tr("logit units", "единицы логита")}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: meta.Names, Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Show: opts.Bool(true), Interval: "0", FontSize: 11}}),
	)...)
	bar.AddSeries(tr("contribution", "вклад"), data)
	opt, err := optionOf(bar)
	if err != nil {
		c.err = err
		return c
	}
	opt["legend"] = map[string]any{"show": false}
	opt["backgroundColor"] = "#ffffff"
	opt["toolbox"] = map[string]any{"show": false}
	for _, path := range [][]string{{"tooltip", "confine"}, {"tooltip", "className"}} {
		var v any = true
		if path[1] == "className" {
			v = "logitlens-tooltip"
		}
		if err := setPath(opt, path, v); err != nil {
			c.err = err
			return c
		}
	}
	c.option, c.meta = opt, meta
	return c
}

// setPath sets opt[path[0]]…[path[n-1]] = v, failing (instead of panicking) when
// go-echarts' output does not have the expected objects on the way.
func setPath(opt map[string]any, path []string, v any) error {
	m := opt
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return fmt.Errorf("display: the chart option has no object %q", k)
		}
		m = next
	}
	m[path[len(path)-1]] = v
	return nil
}

// ShowAttribution shows the components × positions heatmap in a GoNB notebook.
func ShowAttribution(a *lensnb.Attribution, o AttributionOptions) error {
	return Show(AttributionHeatmap(a, o))
}

// PatchHeatmap draws an activation-patching sweep (lensnb.PatchSweep): blocks ×
// positions of the clean prompt, each cell the normalised metric when that
// block's activation at that position comes from the corrupted run (0: no
// effect, 1: the corrupted run's prediction).
func PatchHeatmap(p *lensnb.Patching, o AttributionOptions) *Chart {
	c := &Chart{id: newID(), kind: "matrix", JS: o.JS}
	if p == nil || len(p.Values) == 0 || len(p.Values[0]) != len(p.Tokens) {
		c.err = fmt.Errorf("display: the patching result is empty or inconsistent")
		return c
	}
	rows := make([]string, len(p.Values))
	for l := range rows {
		rows[l] = fmt.Sprintf("blocks.%d.%s", l, p.Hook) // translated by buildMatrix
	}
	cols := make([]string, len(p.Tokens))
	for t, tok := range p.Tokens {
		cols[t] = VisibleToken(tok)
	}
	title := o.Title
	if title == "" {
		title = tr("Activation patching: ", "Подмена активаций: ") + p.Hook
	}
	sub := fmt.Sprintf(tr("rows: the block whose %s is patched (block 0 at the bottom) · columns: the patched position of the clean prompt · value: %s",
		"строки: блок, чей %s подменён (блок 0 внизу) · столбцы: подменённая позиция чистого промпта · значение: %s"), p.Hook, metricName(p.Metric))
	c.err = c.buildMatrix(title, sub, rows, cols, tr("position", "позиция"), tr("effect (0 clean … 1 corrupted)", "эффект (0 — как чистый … 1 — как испорченный)"), p.Values, nil, o)
	return c
}
