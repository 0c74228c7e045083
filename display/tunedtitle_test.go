package display

import (
	"strings"
	"testing"
)

func TestTitlesNameTheTunedLens(t *testing.T) {
	r := SampleResult(3, 4, false, 1)
	for _, c := range []struct {
		lens, want string
	}{{"", "Logit lens: "}, {"tuned", "Tuned lens: "}} {
		r.Lens = c.lens
		if got := Heatmap(r, HeatmapOptions{}).Title; !strings.HasPrefix(got, c.want) {
			t.Errorf("lens %q: heatmap title %q, want it to start with %q", c.lens, got, c.want)
		}
		if got := Lines(r, LinesOptions{}).Title; !strings.HasPrefix(got, strings.TrimSuffix(c.want, ": ")) {
			t.Errorf("lens %q: lines title %q", c.lens, got)
		}
	}
}
