package display

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/lensnb"
)

// TextGridOptions tunes TextGrid.
type TextGridOptions struct {
	// Width is the number of text columns to fit (0: 120).
	Width int
	// Probs appends each top-1 token's probability ("␣cat 0.42"); it is never cut.
	Probs bool
	// Corner labels the header row (the column tokens), e.g. "input".
	Corner string
	// NextRow, when set, adds a last row with this label holding the actual next
	// token of each column (prompt lens).
	NextRow string
}

// TextGrid renders a lens as a plain-text table, the final state on top (as in the
// heatmaps): each cell is a state's top-1 token (with its probability if asked),
// whitespace made visible. Cells are as wide as Width allows (10–18 columns);
// tokens are shortened with "…" before a probability ever is, and columns that do
// not fit go into further blocks headed "(positions a–b)".
func TextGrid(r *lensnb.Result, o TextGridOptions) string {
	width := o.Width
	if width <= 0 {
		width = 120
	}
	label := utf8.RuneCountInString(o.Corner)
	if o.NextRow != "" {
		label = max(label, utf8.RuneCountInString(o.NextRow))
	}
	for _, s := range r.States {
		label = max(label, utf8.RuneCountInString(s))
	}
	label += 2
	const minCell, maxCell = 10, 18
	cellW := maxCell
	for cellW > minCell && label+cellW*len(r.Columns) > width {
		cellW--
	}
	perBlock := max(1, (width-label)/cellW)
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(1, n-utf8.RuneCountInString(s))) }
	// fit shortens tok so that tok + suffix fits a cell (one space between cells).
	fit := func(tok, suffix string) string {
		room := cellW - 1 - utf8.RuneCountInString(suffix)
		if utf8.RuneCountInString(tok) > room {
			tok = string([]rune(tok)[:max(0, room-1)]) + "…"
		}
		return pad(tok+suffix, cellW)
	}
	var b strings.Builder
	for b0 := 0; b0 < len(r.Columns); b0 += perBlock {
		b1 := min(len(r.Columns), b0+perBlock)
		if b0 > 0 {
			fmt.Fprintf(&b, "\n(positions %d–%d)\n", b0, b1-1)
		}
		b.WriteString(pad(o.Corner, label))
		for _, c := range r.Columns[b0:b1] {
			b.WriteString(fit(VisibleToken(c.Token), ""))
		}
		b.WriteString("\n")
		for s := len(r.States) - 1; s >= 0; s-- {
			b.WriteString(pad(r.States[s], label))
			for _, c := range r.Cells[s][b0:b1] {
				suffix := ""
				if o.Probs {
					suffix = fmt.Sprintf(" %.2f", c.Top[0].Prob)
				}
				b.WriteString(fit(VisibleToken(c.Top[0].Token), suffix))
			}
			b.WriteString("\n")
		}
		if o.NextRow != "" {
			b.WriteString(pad(o.NextRow, label))
			for _, c := range r.Columns[b0:b1] {
				b.WriteString(fit(VisibleToken(c.NextToken), ""))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
