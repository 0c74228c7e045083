package display

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// Table is a simple HTML table; every string is escaped when rendered.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
	// Footer rows (totals), shown bold under a rule.
	Footer [][]string
	// Numeric marks right-aligned columns; Code marks monospace columns (tokens).
	Numeric, Code []bool
	// Indent[i] indents the first cell of row i by that many levels (module depth).
	Indent []int
	// Bar[i] in [0, 1] shades the last cell of row i like a bar (probabilities);
	// negative or missing means no bar.
	Bar []float64
	// Note is a line of text under the table.
	Note string
}

func flag(fs []bool, i int) bool { return i < len(fs) && fs[i] }

// HTML renders the table as a self-contained fragment with inline styles.
func (t *Table) HTML() (string, error) {
	var b strings.Builder
	const cellCSS = "padding:3px 10px;border-bottom:1px solid #e4e4e4;"
	b.WriteString("<div class=\"logitlens-table\" style=\"max-width:100%;overflow-x:auto\">\n")
	b.WriteString("<table style=\"border-collapse:collapse;font:13px/1.4 sans-serif;color:#222;background:#fff;margin:4px 0\">\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "<caption style=\"text-align:left;font-weight:bold;padding:4px 0\">%s</caption>\n", html.EscapeString(t.Caption))
	}
	style := func(col int, extra string) string {
		s := cellCSS + extra
		if flag(t.Numeric, col) {
			s += "text-align:right;font-variant-numeric:tabular-nums;"
		} else {
			s += "text-align:left;"
		}
		if flag(t.Code, col) {
			s += "font-family:monospace;white-space:pre;"
		}
		return s
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for i, h := range t.Header {
			fmt.Fprintf(&b, "<th style=\"%sborder-bottom:2px solid #999;\">%s</th>", style(i, ""), html.EscapeString(h))
		}
		b.WriteString("</tr></thead>\n")
	}
	b.WriteString("<tbody>\n")
	for r, row := range t.Rows {
		b.WriteString("<tr>")
		for i, cell := range row {
			extra := ""
			if i == 0 && r < len(t.Indent) && t.Indent[r] > 0 {
				extra += fmt.Sprintf("padding-left:%dpx;", 10+16*t.Indent[r])
			}
			if i == len(row)-1 && r < len(t.Bar) && t.Bar[r] >= 0 && !math.IsNaN(t.Bar[r]) {
				pct := math.Min(100, 100*t.Bar[r])
				extra += fmt.Sprintf("background:linear-gradient(90deg,#9ecae1 %.1f%%,transparent %.1f%%);", pct, pct)
			}
			fmt.Fprintf(&b, "<td style=\"%s\">%s</td>", style(i, extra), html.EscapeString(cell))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n")
	if len(t.Footer) > 0 {
		b.WriteString("<tfoot>\n")
		for _, row := range t.Footer {
			b.WriteString("<tr>")
			for i, cell := range row {
				fmt.Fprintf(&b, "<td style=\"%sfont-weight:bold;border-top:2px solid #999;\">%s</td>", style(i, ""), html.EscapeString(cell))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</tfoot>\n")
	}
	b.WriteString("</table>\n")
	if t.Note != "" {
		fmt.Fprintf(&b, "<div style=\"font:12px sans-serif;color:#555\">%s</div>\n", html.EscapeString(t.Note))
	}
	b.WriteString("</div>\n")
	return b.String(), nil
}

// SummaryTable renders a torchinfo-style model card (gpt2.Model.Summary) as an
// HTML table: module (indented by depth), output shape and parameters, with the
// totals and the tied-weights note underneath.
func SummaryTable(s *lm.Summary) *Table {
	t := &Table{
		Caption: tr("Model summary", "Карточка модели"),
		Header:  []string{tr("Layer (type)", "Модуль (тип)"), tr("Output shape", "Форма выхода"), tr("Param #", "Параметров")},
		Numeric: []bool{false, false, true},
		Code:    []bool{false, true, false},
	}
	if s == nil {
		t.Note = tr("no summary", "карточки нет")
		return t
	}
	for _, r := range s.Rows {
		t.Rows = append(t.Rows, []string{r.Module, r.Output, lm.Thousands(r.Params)})
		t.Indent = append(t.Indent, r.Depth)
	}
	t.Footer = [][]string{
		{tr("Total params (torchinfo count)", "Всего параметров (по счёту torchinfo)"), "", lm.Thousands(s.TotalParams)},
		{tr("Unique params", "Уникальных параметров"), "", lm.Thousands(s.UniqueParams)},
	}
	t.Note = fmt.Sprintf(tr("lm_head shares its %s weights with wte, so torchinfo counts them twice. Transformer blocks: %d. Outputs (vocabulary): %d.",
		"lm_head и wte — одна матрица (%s параметров), и torchinfo считает её дважды. Блоков трансформера: %d. Выходов (размер словаря): %d."),
		lm.Thousands(s.TiedParams), s.Blocks, s.Outputs)
	return t
}

// TopKTable lists one cell's top-k tokens (state index s, column index c of r):
// rank, token (whitespace made visible), id, probability (with a bar) and logit.
// The caption names the state, the position and its token; a ✓ marks the actual
// next token.
func TopKTable(r *lensnb.Result, s, c int) *Table {
	t := &Table{
		Header:  []string{"#", tr("token", "токен"), "id", tr("logit", "логит"), tr("prob", "вероятность")},
		Numeric: []bool{true, false, true, true, true},
		Code:    []bool{false, true, false, false, false},
	}
	if err := checkResult(r); err != nil {
		t.Note = err.Error()
		return t
	}
	if s < 0 || s >= len(r.States) || c < 0 || c >= len(r.Columns) {
		t.Note = fmt.Sprintf(tr("no cell [%d][%d] in a %d×%d result", "ячейки [%d][%d] в линзе %d×%d нет"), s, c, len(r.States), len(r.Columns))
		return t
	}
	col := r.Columns[c]
	cell := &r.Cells[s][c]
	t.Caption = fmt.Sprintf(tr("%s · position %d · token %s", "%s · позиция %d · токен %s"), plainText(StateLabel(r.States[s])), col.Position, VisibleToken(col.Token))
	if col.NextID >= 0 {
		t.Caption += tr(" → next ", " → следующий ") + VisibleToken(col.NextToken)
	}
	for k, tp := range cell.Top {
		tok := VisibleToken(tp.Token)
		if col.NextID >= 0 && tp.ID == col.NextID {
			tok += "  ✓"
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(k + 1), tok, strconv.Itoa(tp.ID),
			strconv.FormatFloat(tp.Logit, 'f', 2, 64), strconv.FormatFloat(100*tp.Prob, 'f', 2, 64) + "%"})
		t.Bar = append(t.Bar, tp.Prob)
	}
	t.Note = fmt.Sprintf(tr("entropy %.3f nats · KL to final %.3f nats · rank of the final top-1: %d",
		"энтропия %.3f нат · KL до последнего состояния %.3f нат · ранг итогового top-1: %d"),
		cell.Entropy, cell.KLToFinal, cell.RankOfFinal)
	if cell.NextID >= 0 {
		t.Note += fmt.Sprintf(tr(" · next token: p=%.4f, rank %d", " · следующий токен: p=%.4f, ранг %d"), cell.NextProb, cell.NextRank)
	}
	return t
}
