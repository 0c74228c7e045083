package exercises

import (
	"fmt"
	"math"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// Readback is what the state right after the embeddings, wte[token] + wpe[pos],
// decodes to at one prompt position — with the dot product the lens uses, with
// the cosine, and without the position embedding.
type Readback struct {
	Pos, Token int
	// Dot is the top-1 of W·(wte[token]+wpe[pos]) — the lens without ln_f — and
	// DotRank the rank of the input token itself there (0: it is the top-1).
	Dot, DotRank int
	// Cos and CosRank are the same by cosine similarity, which ignores the length
	// of each row of W.
	Cos, CosRank int
	// NoPos is the top-1 of W·wte[token], without the position embedding.
	NoPos int
	// PosShare is |wpe[pos]| / |wte[token]|: how much the position adds.
	PosShare float64
	// StateGap is the largest difference between wte[token]+wpe[pos] computed
	// here and the model's own state after the embeddings (should be ~0).
	StateGap float64
}

// Readbacks measures, for each position of ids, whether the embeddings state
// reads back its own input token through the tied lm_head (W = wte). The lens
// takes dot products, so a row of W that is long can win over the input token's
// own row, and wpe[pos] moves the vector away from wte[token]: both are measured
// rather than assumed.
func Readbacks(m *lensnb.Model, ids []int) ([]Readback, error) {
	if m == nil {
		return nil, fmt.Errorf("readback: no model")
	}
	W, err := LMHead(m)
	if err != nil {
		return nil, err
	}
	pos, err := m.WeightRows("wpe.weight", seq(len(ids))...)
	if err != nil {
		return nil, err
	}
	run, err := m.Run(ids, lm.RunOptions{Logits: lm.LogitsNone, Keep: []string{lm.BlockHook(0, "hook_resid_pre")}})
	if err != nil {
		return nil, err
	}
	state := run.Hooks[lm.BlockHook(0, "hook_resid_pre")]
	vocab, d := W.Shape[0], W.Shape[1]
	rowNorm := make([]float64, vocab)
	for v := range vocab {
		rowNorm[v] = norm64(W.Data[v*d : (v+1)*d])
	}
	out := make([]Readback, len(ids))
	for p, id := range ids {
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("readback: token %d is outside the vocabulary", id)
		}
		tok := W.Data[id*d : (id+1)*d]
		x := make([]float32, d)
		gap := 0.0
		for i := range d {
			x[i] = tok[i] + pos.Data[p*d+i]
			if state != nil {
				gap = math.Max(gap, math.Abs(float64(x[i]-state.At(p, i))))
			}
		}
		dot, cos, noPos := make([]float64, vocab), make([]float64, vocab), make([]float64, vocab)
		for v := range vocab {
			row := W.Data[v*d : (v+1)*d]
			var a, b float64
			for i := range d {
				a += float64(row[i]) * float64(x[i])
				b += float64(row[i]) * float64(tok[i])
			}
			dot[v], noPos[v] = a, b
			if rowNorm[v] > 0 {
				cos[v] = a / rowNorm[v]
			}
		}
		out[p] = Readback{
			Pos: p, Token: id,
			Dot: top1(dot), DotRank: rankOf(dot, id),
			Cos: top1(cos), CosRank: rankOf(cos, id),
			NoPos:    top1(noPos),
			PosShare: norm64(pos.Data[p*d:(p+1)*d]) / math.Max(norm64(tok), 1e-12),
			StateGap: gap,
		}
	}
	return out, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func norm64(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func top1(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// rankOf is the number of entries strictly larger than xs[i].
func rankOf(xs []float64, i int) int {
	n := 0
	for _, x := range xs {
		if x > xs[i] {
			n++
		}
	}
	return n
}

// ReadbackTable lays out rs as text, one prompt position a line, and ends with
// what the numbers say about the loaded model (the share of positions whose
// embeddings state decodes to its own input token).
func ReadbackTable(m *lensnb.Model, rs []Readback) string {
	name := func(id int) string {
		s := []rune(Visible(m.Tokenizer.TokenText(id)))
		if len(s) > 11 {
			s = append(s[:10], '…')
		}
		return string(s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %-12s %-12s %-6s %-12s %-6s %-12s %s\n", "поз.", "вход", "top-1 (·)", "ранг", "top-1 (cos)", "ранг", "без wpe", "|wpe|/|wte|")
	self, selfCos, moved := 0, 0, 0
	gap := 0.0
	for _, r := range rs {
		fmt.Fprintf(&b, "%-4d %-12s %-12s %-6d %-12s %-6d %-12s %.2f\n", r.Pos, name(r.Token), name(r.Dot), r.DotRank, name(r.Cos), r.CosRank, name(r.NoPos), r.PosShare)
		if r.Dot == r.Token {
			self++
		}
		if r.Cos == r.Token {
			selfCos++
		}
		if r.NoPos != r.Dot {
			moved++
		}
		gap = math.Max(gap, r.StateGap)
	}
	fmt.Fprintf(&b, "wte[вход] + wpe[поз.] совпадает с состоянием модели после эмбеддингов с точностью %.1e.\n", gap)
	fmt.Fprintf(&b, "Вход — top-1 по скалярному произведению (так проецирует линза): %d из %d позиций; по косинусу: %d из %d; wpe меняет top-1 на %d из %d.\n",
		self, len(rs), selfCos, len(rs), moved, len(rs))
	switch {
	case len(rs) == 0:
	case 2*self > len(rs):
		b.WriteString("На этой модели top-1 проекции состояния после эмбеддингов — в основном сам входной токен.")
	default:
		b.WriteString("На этой модели состояние после эмбеддингов чаще называет не свой входной токен: сдвиг из вывода 1 этим объяснить нельзя.")
	}
	return b.String()
}
