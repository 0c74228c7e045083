package display

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
)

// Palette is a list of colours ("#rrggbb") for values from low to high; values
// in between are interpolated linearly in sRGB.
type Palette []string

// RdYlBuR is ColorBrewer's 11-class RdYlBu reversed (plotly's "RdYlBu_r"): blue
// for low values, pale yellow in the middle, red for high values. It is the
// default palette of every chart.
var RdYlBuR = Palette{
	"#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#ffffbf",
	"#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026",
}

// Blues is ColorBrewer's 9-class sequential Blues, light to dark.
var Blues = Palette{
	"#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6",
	"#4292c6", "#2171b5", "#08519c", "#08306b",
}

// parseHex parses "#rrggbb" or "#rgb".
func parseHex(s string) (color.RGBA, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return color.RGBA{}, fmt.Errorf("display: colour %q is not #rrggbb", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.RGBA{}, fmt.Errorf("display: colour %q is not #rrggbb", s)
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}, nil
}

func hexOf(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// validate checks that every colour parses and there are at least two.
func (p Palette) validate() error {
	if len(p) < 2 {
		return fmt.Errorf("display: a palette needs at least 2 colours, got %d", len(p))
	}
	for _, c := range p {
		if _, err := parseHex(c); err != nil {
			return err
		}
	}
	return nil
}

// At returns the colour at t in [0, 1] (clamped; NaN gives the middle colour).
// The palette must be valid (see the chart constructors, which check it).
func (p Palette) At(t float64) color.RGBA {
	if math.IsNaN(t) {
		t = 0.5
	}
	t = math.Max(0, math.Min(1, t))
	x := t * float64(len(p)-1)
	i := int(math.Floor(x))
	if i >= len(p)-1 {
		i = len(p) - 2
	}
	f := x - float64(i)
	a, _ := parseHex(p[i])
	b, _ := parseHex(p[i+1])
	lerp := func(u, v uint8) uint8 { return uint8(math.Round(float64(u) + f*(float64(v)-float64(u)))) }
	return color.RGBA{lerp(a.R, b.R), lerp(a.G, b.G), lerp(a.B, b.B), 255}
}

// textColorOn returns black or white, whichever reads better on background c.
func textColorOn(c color.RGBA) color.RGBA {
	lin := func(u uint8) float64 {
		v := float64(u) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
	// Contrast with black is (l+0.05)/0.05, with white 1.05/(l+0.05); equal at l≈0.179.
	if l < 0.179 {
		return color.RGBA{255, 255, 255, 255}
	}
	return color.RGBA{0, 0, 0, 255}
}

// scale maps a metric's values to palette positions: [Min, Mid] to [0, 0.5] and
// [Mid, Max] to [0.5, 1], linearly in the (possibly log-transformed) value.
type scale struct {
	pal           Palette
	min, mid, max float64 // transformed units
	log           bool    // values are ranks shown as log10(1+rank)
}

// tr transforms a metric value into the scale's units.
func (s *scale) tr(v float64) float64 {
	if s.log && !math.IsNaN(v) {
		return math.Log10(1 + math.Max(0, v))
	}
	return v
}

// untr inverts tr.
func (s *scale) untr(v float64) float64 {
	if s.log {
		return math.Pow(10, v) - 1
	}
	return v
}

// frac returns the palette position of a transformed value.
func (s *scale) frac(t float64) float64 {
	switch {
	case math.IsNaN(t):
		return math.NaN()
	case s.max <= s.min:
		return 0.5
	case t <= s.mid:
		if s.mid <= s.min {
			return 0.5
		}
		return math.Max(0, 0.5*(t-s.min)/(s.mid-s.min))
	default:
		if s.max <= s.mid {
			return 0.5
		}
		return math.Min(1, 0.5+0.5*(t-s.mid)/(s.max-s.mid))
	}
}

// color returns the colour of a metric value (not transformed yet).
func (s *scale) color(v float64) color.RGBA { return s.pal.At(s.frac(s.tr(v))) }

// stops returns n colours for values spaced evenly over [min, max] (in
// transformed units), for an ECharts visualMap, which spreads its colours evenly:
// with enough stops the midpoint lands where it should.
func (s *scale) stops(n int) []string {
	out := make([]string, n)
	for i := range out {
		t := s.min + (s.max-s.min)*float64(i)/float64(n-1)
		out[i] = hexOf(s.pal.At(s.frac(t)))
	}
	return out
}

// metricInfo describes how a metric is shown.
type metricInfo struct {
	label string // human name
	log   bool   // colour and axes on a log10(1+v) scale (ranks)
	prob  bool   // a probability: fixed scale [0, 1], midpoint 0.5
}

// MetricFinalProb is the probability this state gives to the final layer's top-1
// token: lensnb.MetricFinalProb (Cell.FinalProb), exact wherever the token ranks.
const MetricFinalProb = lensnb.MetricFinalProb

// MetricTopLogit is a display-side metric: the logit of this state's own top-1 token.
const MetricTopLogit lensnb.Metric = "top_logit"

func infoOf(m lensnb.Metric) metricInfo {
	switch m {
	case lensnb.MetricProb:
		return metricInfo{label: tr("probability of the top-1 token", "вероятность top-1 токена"), prob: true}
	case lensnb.MetricNextProb:
		return metricInfo{label: tr("probability of the actual next token", "вероятность настоящего следующего токена"), prob: true}
	case lensnb.MetricTargetProb:
		return metricInfo{label: tr("probability of the target token", "вероятность целевого токена"), prob: true}
	case MetricFinalProb:
		return metricInfo{label: tr("probability of the final layer's top-1 token", "вероятность итогового top-1 токена"), prob: true}
	case lensnb.MetricEntropy:
		return metricInfo{label: tr("entropy (nats)", "энтропия (наты)")}
	case lensnb.MetricKL:
		return metricInfo{label: tr("KL to the final layer (nats)", "KL до последнего состояния (наты)")}
	case lensnb.MetricRankOfFinal:
		return metricInfo{label: tr("rank of the final top-1 token", "ранг итогового top-1 токена"), log: true}
	case lensnb.MetricNextRank:
		return metricInfo{label: tr("rank of the actual next token", "ранг настоящего следующего токена"), log: true}
	case lensnb.MetricFinalLogit:
		return metricInfo{label: tr("logit of the final top-1 token", "логит итогового top-1 токена")}
	case MetricTopLogit:
		return metricInfo{label: tr("logit of the top-1 token", "логит top-1 токена")}
	}
	return metricInfo{label: string(m)}
}

// knownMetric reports whether m is a metric the charts can show.
func knownMetric(m lensnb.Metric) bool {
	if m == MetricTopLogit {
		return true
	}
	for _, k := range lensnb.Metrics {
		if k == m {
			return true
		}
	}
	return false
}

// metricValue returns metric m of cell [s][c] (NaN where it does not exist).
func metricValue(r *lensnb.Result, s, c int, m lensnb.Metric) float64 {
	cell := &r.Cells[s][c]
	switch m {
	case MetricTopLogit:
		if len(cell.Top) == 0 {
			return math.NaN()
		}
		return cell.Top[0].Logit
	case lensnb.MetricProb:
		if len(cell.Top) == 0 {
			return math.NaN()
		}
	}
	return cell.Value(m)
}

// ScaleOptions sets a colour scale; nil fields are chosen from the data and the
// metric (probabilities: 0, 0.5, 1; others: the data's range and its middle).
// Values are in the metric's units (ranks as ranks, even on a log scale).
type ScaleOptions struct {
	Min, Mid, Max *float64
	// Palette, low to high; nil is RdYlBuR.
	Palette Palette
}

// Float returns a pointer to v, for ScaleOptions.
func Float(v float64) *float64 { return &v }

// newScale builds the colour scale of metric m over the values vals.
func newScale(m lensnb.Metric, o ScaleOptions, vals [][]float64) (*scale, error) {
	info := infoOf(m)
	pal := o.Palette
	if pal == nil {
		pal = RdYlBuR
	}
	if err := pal.validate(); err != nil {
		return nil, err
	}
	s := &scale{pal: pal, log: info.log}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range vals {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			t := s.tr(v)
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
	}
	if math.IsInf(lo, 1) { // no data
		lo, hi = 0, 1
	}
	if info.prob {
		lo, hi = 0, 1
	}
	if info.log || m == lensnb.MetricEntropy || m == lensnb.MetricKL {
		lo = 0
	}
	if o.Min != nil {
		lo = s.tr(*o.Min)
	}
	if o.Max != nil {
		hi = s.tr(*o.Max)
	}
	for _, p := range []*float64{o.Min, o.Mid, o.Max} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return nil, fmt.Errorf("display: colour scale bounds must be finite")
		}
	}
	if hi < lo {
		return nil, fmt.Errorf("display: colour scale max %v is below min %v", s.untr(hi), s.untr(lo))
	}
	if hi == lo {
		hi = lo + 1
	}
	mid := (lo + hi) / 2
	if o.Mid != nil {
		mid = s.tr(*o.Mid)
	}
	s.min, s.mid, s.max = lo, math.Max(lo, math.Min(hi, mid)), hi
	return s, nil
}
