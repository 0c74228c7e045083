// Package lenssample makes lens results for tests of what draws them (display and
// display/static): random cells, optionally with hostile tokens.
package lenssample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/logitlens-go/logitlens/lensnb"
)

// HostileToken is a token that would run code if any output put it into HTML
// or a script unescaped: the browser check looks for window.__pwned and alerts.
// It has no spaces, which VisibleToken would turn into '␣' and so defuse.
const HostileToken = `</script><img/src="x"/onerror="window.__pwned=1;alert(1)">`

// HostileTokens covers quotes, backslashes, newlines, braces (ECharts' rich
// text and template syntax), U+2028/U+2029, an HTML comment opener, go-echarts'
// "__f__" function marker, whitespace and an invalid UTF-8 byte.
var HostileTokens = []string{
	HostileToken,
	"<img src=x onerror=\"window.__pwned=4\">",
	`"'\"`,
	"back\\slash\\",
	"\n",
	"{a|b}{c}",
	"x\u2028y\u2029z",
	"<!--<script>",
	"__f__window.__pwned=2__f__",
	" ",
	"\xd0",
	"{b}",
	"</title><svg onload=window.__pwned=3>",
	"\t&amp;",
}

var PlainWords = []string{
	"Are", " cats", " good", "?", " The", " dog", " is", " a", " very", " happy",
	" animal", ".", " It", " likes", " to", " run", " in", " the", " park", "\n",
	" Кошки", " любят", " молоко",
}

// Result builds a deterministic, plausible lens Result by hand: states
// "embeddings", "blocks.0" … "blocks.{layers-1}", cols columns, top-5 lists. With
// hostile set, tokens come from HostileTokens (and the title-ish model name too).
func Result(layers, cols int, hostile bool, seed uint64) *lensnb.Result {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := PlainWords
	if hostile {
		words = append(append([]string{}, HostileTokens...), PlainWords...)
	}
	r := &lensnb.Result{Model: "gpt2 (test fixture)", Backend: "test", FinalNorm: true, Mode: "prompt", TopK: 5, Target: -1}
	if hostile {
		r.Model = HostileToken
	}
	r.States = append(r.States, "embeddings")
	for l := range layers {
		r.States = append(r.States, fmt.Sprintf("blocks.%d", l))
	}
	vocab := len(words)
	ids := make([]int, cols+1)
	for i := range ids {
		if hostile && i < len(HostileTokens) {
			ids[i] = i
		} else {
			ids[i] = rng.IntN(vocab)
		}
	}
	for c := range cols {
		next := ids[c+1]
		nextTok := words[next]
		nextID := next
		if c == cols-1 && hostile {
			nextID, nextTok = -1, ""
		}
		r.Columns = append(r.Columns, lensnb.Column{ID: ids[c], Token: words[ids[c]], Position: c, NextID: nextID, NextToken: nextTok})
		r.InputIDs = append(r.InputIDs, ids[c])
		r.Tokens = append(r.Tokens, words[ids[c]])
	}
	nS := len(r.States)
	r.Cells = make([][]lensnb.Cell, nS)
	// The final layer predicts the next token in most columns.
	finalTop := make([]int, cols)
	for c := range cols {
		if r.Columns[c].NextID >= 0 && rng.Float64() < 0.7 {
			finalTop[c] = r.Columns[c].NextID
		} else {
			finalTop[c] = rng.IntN(vocab)
		}
	}
	for s := range nS {
		r.Cells[s] = make([]lensnb.Cell, cols)
		depth := float64(s) / float64(nS-1)
		for c := range cols {
			logits := make([]float64, vocab)
			for v := range logits {
				logits[v] = rng.NormFloat64()
			}
			logits[finalTop[c]] += 6 * depth * depth
			if s == 0 {
				logits[r.Columns[c].ID] += 3 // embeddings predict the input token
			}
			probs := softmax(logits)
			order := make([]int, vocab)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
			cell := lensnb.Cell{NextID: r.Columns[c].NextID, NextRank: -1}
			for k := 0; k < 5 && k < vocab; k++ {
				id := order[k]
				cell.Top = append(cell.Top, lensnb.TokenProb{ID: id, Token: words[id], Prob: probs[id], Logit: logits[id]})
			}
			for _, p := range probs {
				if p > 0 {
					cell.Entropy -= p * math.Log(p)
				}
			}
			for rank, id := range order {
				if id == finalTop[c] {
					cell.RankOfFinal = rank
				}
				if id == cell.NextID {
					cell.NextRank = rank
				}
			}
			cell.FinalTopLogit, cell.FinalProb = logits[finalTop[c]], probs[finalTop[c]]
			if cell.NextID >= 0 {
				cell.NextProb = probs[cell.NextID]
				cell.CrossEntropy = -math.Log(cell.NextProb)
			}
			cell.TopIsNext = order[0] == cell.NextID
			r.Cells[s][c] = cell
		}
	}
	// KL(final ‖ state), from the top-5 lists only (good enough for a fixture).
	for s := range nS {
		for c := range cols {
			kl := 0.0
			for _, f := range r.Cells[nS-1][c].Top {
				q := 1e-6
				for _, t := range r.Cells[s][c].Top {
					if t.ID == f.ID {
						q = t.Prob
					}
				}
				kl += f.Prob * math.Log(f.Prob/q)
			}
			r.Cells[s][c].KLToFinal = math.Max(0, kl)
		}
	}
	return r
}

func softmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
