package display

import (
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/logitlens-go/logitlens/lensnb"
)

// The notebook hooks, replaceable in tests. gonbui's functions do nothing
// outside GoNB. Each display waits until GoNB has it (gonbui.Sync): a cell's
// program that links no engine ends within milliseconds of displaying a
// megabyte-sized chart, and what is still in the pipe when it exits is lost.
var (
	displayHTML = func(html string) { gonbui.DisplayHTML(html); gonbui.Sync() }
)

// InNotebook reports whether the program runs in a GoNB notebook cell (where
// Show displays things); elsewhere the Show functions do nothing.
func InNotebook() bool { return gonbui.IsNotebook }

// Show displays the parts (charts, tables, images) as one HTML output of the
// current GoNB cell. It returns the first rendering error; outside GoNB it
// renders (so errors still surface) but displays nothing.
func Show(parts ...Fragment) error {
	var b strings.Builder
	for _, p := range parts {
		if p == nil {
			continue
		}
		h, err := p.HTML()
		if err != nil {
			return err
		}
		b.WriteString(h)
	}
	displayHTML(b.String())
	return nil
}

// ShowHeatmap displays Heatmap(r, o) in GoNB.
func ShowHeatmap(r *lensnb.Result, o HeatmapOptions) error { return Show(Heatmap(r, o)) }

// ShowLines displays Lines(r, o) in GoNB.
func ShowLines(r *lensnb.Result, o LinesOptions) error { return Show(Lines(r, o)) }
