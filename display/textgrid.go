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
// whitespace made visible; laid out by TextTable.
func TextGrid(r *lensnb.Result, o TextGridOptions) string {
	t := TextTable{Width: o.Width, Corner: o.Corner}
	for _, c := range r.Columns {
		t.Columns = append(t.Columns, VisibleToken(c.Token))
	}
	for s := len(r.States) - 1; s >= 0; s-- {
		t.Rows = append(t.Rows, StateLabel(r.States[s]))
	}
	nS := len(r.States)
	if o.NextRow != "" {
		t.Rows = append(t.Rows, o.NextRow)
	}
	t.Cell = func(row, col int) (string, string) {
		if row == nS { // the next-token row
			return VisibleToken(r.Columns[col].NextToken), ""
		}
		top := r.Cells[nS-1-row][col].Top[0]
		if o.Probs {
			return VisibleToken(top.Token), fmt.Sprintf(" %.2f", top.Prob)
		}
		return VisibleToken(top.Token), ""
	}
	return t.String()
}

// TextTable is a plain-text table fitted to Width text columns (0: 120): a header
// row of column labels under Corner, then one row per label in Rows. Cells are as
// wide as the width allows (10–18 columns); a cell's text is shortened with "…"
// before its kept part (a number) ever is, and columns that do not fit go into
// further blocks headed "(positions a–b)".
type TextTable struct {
	Width   int
	Corner  string
	Columns []string
	Rows    []string
	// Cell returns the cell at (row, column): text, which may be shortened, and
	// keep, a suffix that never is.
	Cell func(row, col int) (text, keep string)
}

func (t TextTable) String() string {
	width := t.Width
	if width <= 0 {
		width = 120
	}
	label := utf8.RuneCountInString(t.Corner)
	for _, r := range t.Rows {
		label = max(label, utf8.RuneCountInString(r))
	}
	label += 2
	const minCell, maxCell = 10, 18
	cellW := maxCell
	for cellW > minCell && label+cellW*len(t.Columns) > width {
		cellW--
	}
	perBlock := max(1, (width-label)/cellW)
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(1, n-utf8.RuneCountInString(s))) }
	// fit shortens text so that text + keep fits a cell (one space between cells).
	fit := func(text, keep string) string {
		room := cellW - 1 - utf8.RuneCountInString(keep)
		if text != "" && utf8.RuneCountInString(text) > room {
			text = string([]rune(text)[:max(0, room-1)]) + "…"
		}
		return pad(text+keep, cellW)
	}
	var b strings.Builder
	for b0 := 0; b0 < len(t.Columns); b0 += perBlock {
		b1 := min(len(t.Columns), b0+perBlock)
		if b0 > 0 {
			fmt.Fprintf(&b, tr("\n(positions %d–%d)\n", "\n(позиции %d–%d)\n"), b0, b1-1)
		}
		b.WriteString(pad(t.Corner, label))
		for _, c := range t.Columns[b0:b1] {
			b.WriteString(fit(c, ""))
		}
		b.WriteString("\n")
		for row, name := range t.Rows {
			b.WriteString(pad(name, label))
			for col := b0; col < b1; col++ {
				b.WriteString(fit(t.Cell(row, col)))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
