package exercises

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// LMHead returns the weights of the language-model head, [vocab, n_embd]. GPT-2
// ties lm_head to the token embeddings, so this is wte: the logit of token v for a
// hidden state h is the dot product of row v with h. It is read here, from the
// model folder's file, or from the model server where this machine has no folder.
func LMHead(m *lensnb.Model) (*lm.Array, error) {
	if m == nil {
		return nil, fmt.Errorf("lm_head: no model")
	}
	w, err := lm.ReadWeight(m.Dir, "wte.weight")
	if errors.Is(err, fs.ErrNotExist) {
		w, err = m.LMHead()
	}
	if err != nil {
		return nil, fmt.Errorf("lm_head: %w", err)
	}
	return w, nil
}

// Shift measures the course's first conclusion on a lens over a generation: the
// first row (the state right after the embeddings) repeats the last row shifted by
// one column. At step j the model reads the token it chose at step j-1, and the
// embeddings row, decoded through the tied lm_head, mostly names the token being
// read.
type Shift struct {
	// Shifted counts columns j ≥ 1 whose first-row top-1 equals the last row's
	// top-1 at column j-1, out of Pairs.
	Shifted, Pairs int
	// Aligned counts columns whose first-row top-1 equals the last row's top-1 in
	// the same column, out of Columns: the control.
	Aligned, Columns int
}

// ShiftAgreement computes Shift for r (a lens over a generation, or over prompt
// positions, where the first row names the input token read at each position).
func ShiftAgreement(r *lensnb.Result) Shift {
	var s Shift
	if r == nil || len(r.Cells) < 2 {
		return s
	}
	first, last := r.Cells[0], r.Cells[len(r.Cells)-1]
	for j := range first {
		s.Columns++
		if first[j].Top[0].ID == last[j].Top[0].ID {
			s.Aligned++
		}
		if j > 0 {
			s.Pairs++
			if first[j].Top[0].ID == last[j-1].Top[0].ID {
				s.Shifted++
			}
		}
	}
	return s
}

// Holds reports whether the shifted match clearly beats the control and covers
// most columns.
func (s Shift) Holds() bool {
	return s.Pairs > 0 && 2*s.Shifted > s.Pairs && s.Shifted*s.Columns > s.Aligned*s.Pairs
}

func (s Shift) String() string {
	verdict := "не подтверждается"
	if s.Holds() {
		verdict = "подтверждается"
	}
	return fmt.Sprintf("нижняя строка (эмбеддинги) = верхней строке на шаг раньше: %d из %d; на том же шаге (контроль): %d из %d → вывод 1 %s",
		s.Shifted, s.Pairs, s.Aligned, s.Columns, verdict)
}

// Profile measures the course's second conclusion: how the top-1 probability
// changes across the states (rows) of a lens.
type Profile struct {
	States []string
	// Mean is the top-1 probability of each state averaged over the columns.
	Mean []float64
	// Peak is the state with the highest Mean; PeakCount[i] says in how many
	// columns state i is the most confident one.
	Peak      int
	PeakCount []int
	// Monotonic counts the columns whose top-1 probability only grows or only
	// falls from the first state to the last, out of Columns.
	Monotonic, Columns int
}

// ConfidenceProfile computes Profile for r.
func ConfidenceProfile(r *lensnb.Result) Profile {
	p := Profile{States: r.States}
	probs := r.Matrix(lensnb.MetricProb)
	nS := len(probs)
	if nS == 0 {
		return p
	}
	nC := len(probs[0])
	p.Columns = nC
	p.Mean = make([]float64, nS)
	p.PeakCount = make([]int, nS)
	for c := 0; c < nC; c++ {
		best, up, down := 0, true, true
		for s := 0; s < nS; s++ {
			p.Mean[s] += probs[s][c] / float64(nC)
			if probs[s][c] > probs[best][c] {
				best = s
			}
			if s > 0 {
				up = up && probs[s][c] >= probs[s-1][c]
				down = down && probs[s][c] <= probs[s-1][c]
			}
		}
		p.PeakCount[best]++
		if up || down {
			p.Monotonic++
		}
	}
	for s := range p.Mean {
		if p.Mean[s] > p.Mean[p.Peak] {
			p.Peak = s
		}
	}
	return p
}

// Middle reports whether state s lies in the middle third of the states.
func (p Profile) Middle(s int) bool {
	n := len(p.Mean)
	return s >= n/3 && s < n-n/3
}

// MiddleThird returns the first and the last state of the middle third (as
// Middle counts it), and false when there is none.
func (p Profile) MiddleThird() (lo, hi int, ok bool) {
	n := len(p.Mean)
	lo, hi = n/3, n-n/3-1
	return lo, hi, n > 0 && lo <= hi
}

// Holds reports whether the profile agrees with the course: no column is
// monotonic, and the most confident state on average is in the middle third.
func (p Profile) Holds() bool {
	return len(p.Mean) > 0 && p.Monotonic == 0 && p.Middle(p.Peak)
}

func (p Profile) String() string {
	var b strings.Builder
	b.WriteString("состояние               средняя p(top-1)             самое уверенное в столбцах\n")
	for s := range p.Mean {
		bar := strings.Repeat("█", int(math.Round(20*p.Mean[s])))
		fmt.Fprintf(&b, "%-23s %6.3f %-20s  %d\n", display.StateLabel(p.States[s]), p.Mean[s], bar, p.PeakCount[s])
	}
	where := "не в средней трети"
	if p.Middle(p.Peak) {
		where = "в средней трети"
	}
	if lo, hi, ok := p.MiddleThird(); ok {
		fmt.Fprintf(&b, "состояний %d; средняя треть — от «%s» до «%s»\n", len(p.Mean), display.StateLabel(p.States[lo]), display.StateLabel(p.States[hi]))
	}
	verdict := "не подтверждается"
	if p.Holds() {
		verdict = "подтверждается"
	}
	fmt.Fprintf(&b, "монотонных столбцов: %d из %d; пик средней уверенности: %s (%s) → вывод 2 %s",
		p.Monotonic, p.Columns, display.StateLabel(p.States[p.Peak]), where, verdict)
	return b.String()
}

// Agreement compares two lenses cell by cell: b's columns against a's columns
// starting at offset, state by state (both must have the same states).
type Agreement struct {
	// SameTop1 counts cells whose top-1 tokens are equal, out of Cells.
	SameTop1, Cells int
	// MaxProbDiff is the largest difference of top-1 probabilities.
	MaxProbDiff float64
}

// Compare computes the Agreement of b with a's columns offset, offset+1, ….
func Compare(a *lensnb.Result, offset int, b *lensnb.Result) (Agreement, error) {
	var ag Agreement
	if len(a.States) != len(b.States) {
		return ag, fmt.Errorf("compare: %d states against %d: the lenses must decode the same states", len(a.States), len(b.States))
	}
	if offset < 0 || offset+len(b.Columns) > len(a.Columns) {
		return ag, fmt.Errorf("compare: columns %d…%d do not exist in a lens with %d columns", offset, offset+len(b.Columns)-1, len(a.Columns))
	}
	for s := range b.Cells {
		for c := range b.Cells[s] {
			x, y := a.Cells[s][offset+c].Top[0], b.Cells[s][c].Top[0]
			ag.Cells++
			if x.ID == y.ID {
				ag.SameTop1++
			}
			ag.MaxProbDiff = math.Max(ag.MaxProbDiff, math.Abs(x.Prob-y.Prob))
		}
	}
	return ag, nil
}

func (ag Agreement) String() string {
	return fmt.Sprintf("совпало top-1: %d из %d ячеек; наибольшая разница вероятностей %.2g", ag.SameTop1, ag.Cells, ag.MaxProbDiff)
}

// Top1Grid renders r's top-1 tokens as a text table (display.TextGrid): the last
// state on top (as in the heatmaps), one column per generated token (headed by
// the token chosen at that step) or per prompt position (headed by the input
// token), whitespace made visible (␣ for a space, ↵ for a newline).
func Top1Grid(r *lensnb.Result) string {
	corner := "→ выбор"
	if r.Mode == "prompt" {
		corner = "вход"
	}
	return display.TextGrid(r, display.TextGridOptions{Corner: corner})
}

// Visible shows a token's whitespace and invisible characters ("␣" for a space,
// "↵" for a newline, …): display.VisibleToken, under the name the notebooks use.
func Visible(tok string) string { return display.VisibleToken(tok) }
