package exercises

import (
	"fmt"
	"math"
	"strings"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// ProjectFunc is the student's projection: the logits W·h of one hidden state h
// [n_embd] through the lm_head matrix W [vocab, n_embd] (W.Data row by row).
type ProjectFunc func(W *lm.Array, h []float32) []float32

// ArgmaxFunc is the student's argmax: the index of a largest element.
type ArgmaxFunc func(xs []float32) int

// projectionName heads the projection exercise's messages.
const projectionName = "Упражнение «проекция вручную»"

// CheckProjection checks the exercise of Part 1 where the student writes the
// lens by hand: project is compared with lensnb.DecodeLogits (the same product
// computed in GoMLX's graph, without ln_f) on several hidden states of the
// course's generation — every logit, not only the top-1 — and argmax with a
// brute-force search on vectors made to catch the usual slips (all-negative
// values, the maximum first or last, ties). Any correct way to compute them
// passes: in float32 or float64, in any order of summation. It prints «✓ Верно!…»
// or what went wrong, and reports whether both are right.
func CheckProjection(project ProjectFunc, argmax ArgmaxFunc, m *lensnb.Model) bool {
	if project == nil || argmax == nil {
		fmt.Fprintf(out(), "✗ %s: передайте обе функции — CheckProjection(project, argmax, m).\n", projectionName)
		return false
	}
	if m == nil {
		fmt.Fprintf(out(), "✗ %s: не передана модель — выполните ячейки выше и передайте её третьим аргументом.\n", projectionName)
		return false
	}
	W, err := LMHead(m)
	if err != nil {
		fmt.Fprintf(out(), "✗ %s: %v\n", projectionName, err)
		return false
	}
	gen, err := CourseGeneration(m)
	if err != nil {
		fmt.Fprintf(out(), "✗ %s: %v\n", projectionName, err)
		return false
	}
	cases := projectionCases(gen)
	worst := 0.0
	var logits []float32 // a real vocabulary-sized vector, for argmax below
	for _, c := range cases {
		want, err := lensnb.DecodeLogits(m, c.h, false)
		if err != nil {
			fmt.Fprintf(out(), "✗ %s: %v\n", projectionName, err)
			return false
		}
		row := c.h.Row(0)
		got, msg := callProject(project, W, append([]float32(nil), row...))
		if msg == "" {
			msg = compareLogits(got, want.Data, W, row, m)
		}
		if msg != "" {
			fmt.Fprintf(out(), "✗ %s: project неверна на состоянии «%s» шага %d. %s\n", projectionName, display.StateLabel(c.state), c.step, msg)
			return false
		}
		worst = math.Max(worst, maxRelDiff(got, want.Data))
		logits = want.Data
	}
	if msg := checkArgmax(argmax); msg != "" {
		fmt.Fprintf(out(), "✗ %s: project верна, но argmax ошибается. %s\n", projectionName, msg)
		return false
	}
	if top, ref := safeArgmax(argmax, logits), bruteArgmax(logits); len(logits) > 0 && (top < 0 || top >= len(logits) || logits[top] != logits[ref]) {
		fmt.Fprintf(out(), "✗ %s: project верна, но argmax на логитах словаря вернула %d, а наибольший логит у токена %d.\n", projectionName, top, ref)
		return false
	}
	fmt.Fprintf(out(), "✓ Верно! project совпадает с lensnb.DecodeLogits на %d %s (все %s логитов, наибольшее относительное расхождение %.1e), argmax находит наибольший элемент.\n",
		len(cases), plural(len(cases), "состоянии", "состояниях", "состояниях"), lm.Thousands(W.Shape[0]), worst)
	return true
}

// projectionCase is one hidden state the projection is checked on.
type projectionCase struct {
	h     *lm.Array // [1, n_embd]
	step  int
	state string
}

// projectionCases picks states of different scale: the embeddings of the first
// and last prompt positions, a middle block and the last state of a later step.
func projectionCases(gen *lm.Generation) []projectionCase {
	var out []projectionCase
	add := func(step, state, pos int) {
		if step >= len(gen.Steps) {
			return
		}
		hs := gen.Steps[step].HiddenStates
		if state >= len(hs) || pos >= hs[state].Shape[0] {
			return
		}
		name := "embeddings"
		if state > 0 {
			name = fmt.Sprintf("blocks.%d", state-1)
		}
		row := hs[state].Row(pos)
		out = append(out, projectionCase{h: &lm.Array{Shape: []int{1, len(row)}, Data: append([]float32(nil), row...)}, step: step, state: name})
	}
	if len(gen.Steps) == 0 {
		return nil
	}
	n := len(gen.Steps[0].HiddenStates)
	add(0, 0, 0)
	add(0, 0, len(gen.Steps[0].Positions)-1)
	add(min(2, len(gen.Steps)-1), n/2, 0)
	add(len(gen.Steps)-1, n-1, 0)
	return out
}

// callProject runs the student's project, turning a panic into a message.
func callProject(project ProjectFunc, W *lm.Array, h []float32) (logits []float32, msg string) {
	defer func() {
		if r := recover(); r != nil {
			logits, msg = nil, fmt.Sprintf("Функция упала с паникой: %v. Строка v матрицы — это W.Data[v*d : (v+1)*d], где d = W.Shape[1].", r)
		}
	}()
	return project(W, h), ""
}

// compareLogits says what is wrong with got (the student's logits) against want
// (DecodeLogits'), or returns "".
func compareLogits(got, want []float32, W *lm.Array, h []float32, m *lensnb.Model) string {
	vocab, d := W.Shape[0], W.Shape[1]
	if len(got) != vocab {
		return fmt.Sprintf("Она вернула %d %s, а нужно по одному логиту на каждый токен словаря: W.Shape[0] = %d.",
			len(got), plural(len(got), "число", "числа", "чисел"), vocab)
	}
	tol := tolerance(want)
	zeros, bad := 0, -1
	for v := range got {
		if got[v] == 0 {
			zeros++
		}
		if bad < 0 && !closeTo(float64(got[v]), float64(want[v]), tol) {
			bad = v
		}
	}
	if bad < 0 {
		return ""
	}
	if zeros == vocab {
		return "Все логиты равны нулю — похоже, цикл ещё не написан."
	}
	// A common slip: reading W as if it were stored column by column.
	if d > 0 && len(W.Data) == vocab*d {
		var z float64
		for i := range d {
			if bad+i*vocab < len(W.Data) {
				z += float64(W.Data[bad+i*vocab]) * float64(h[i])
			}
		}
		if closeTo(z, float64(got[bad]), tol) {
			return "Матрица W хранится по строкам: строка токена v — это W.Data[v*d : (v+1)*d], а не каждый vocab-й элемент."
		}
	}
	return fmt.Sprintf("У токена %d («%s») получилось %.4f, а W[%d]·h = %.4f. Логит токена v — скалярное произведение строки v матрицы W на h.",
		bad, Visible(m.Tokenizer.TokenText(bad)), got[bad], bad, want[bad])
}

// tolerance is how far a logit may be from its reference: float32 rounding of a
// dot product in another order, relative to the largest reference logit (at
// least 1).
func tolerance(ref []float32) float64 {
	scale := 1.0
	for _, x := range ref {
		scale = math.Max(scale, math.Abs(float64(x)))
	}
	return 1e-3 * scale
}

func closeTo(a, b, tol float64) bool {
	return !math.IsNaN(a) && !math.IsInf(a, 0) && math.Abs(a-b) <= tol
}

func maxRelDiff(got, want []float32) float64 {
	scale := 1.0
	for _, x := range want {
		scale = math.Max(scale, math.Abs(float64(x)))
	}
	worst := 0.0
	for v := range got {
		worst = math.Max(worst, math.Abs(float64(got[v])-float64(want[v]))/scale)
	}
	return worst
}

// bruteArgmax is the first index of a largest element (-1 for an empty slice).
func bruteArgmax(xs []float32) int {
	best := -1
	for i, x := range xs {
		if best < 0 || x > xs[best] {
			best = i
		}
	}
	return best
}

// safeArgmax runs the student's argmax, -1 if it panics.
func safeArgmax(argmax ArgmaxFunc, xs []float32) (i int) {
	defer func() {
		if recover() != nil {
			i = -1
		}
	}()
	return argmax(xs)
}

// checkArgmax tries argmax on vectors chosen to catch the usual slips; any index
// of a largest element is right (the first one, as in torch.argmax, or another
// among equal maxima).
func checkArgmax(argmax ArgmaxFunc) string {
	cases := []struct {
		xs   []float32
		why  string
		hint string
	}{
		{[]float32{3, 1, 2}, "наибольший элемент первый", ""},
		{[]float32{1, 2, 7}, "наибольший элемент последний", "Проверьте, что цикл доходит до конца среза."},
		{[]float32{-5, -2, -9, -3}, "все числа отрицательные", "Начальное «лучшее» значение не должно быть нулём: начните с первого элемента."},
		{[]float32{2, 5, 5, 1}, "два равных максимума", ""},
		{[]float32{0.5}, "один элемент", ""},
	}
	constant := true
	for _, c := range cases {
		constant = constant && safeArgmax(argmax, c.xs) == safeArgmax(argmax, cases[0].xs)
	}
	if constant && len(cases) > 1 {
		return fmt.Sprintf("Она всегда возвращает %d, что бы ей ни дали, — похоже, функция ещё не написана.", safeArgmax(argmax, cases[0].xs))
	}
	for _, c := range cases {
		got := safeArgmax(argmax, c.xs)
		want := bruteArgmax(c.xs)
		if got >= 0 && got < len(c.xs) && c.xs[got] == c.xs[want] {
			continue
		}
		msg := fmt.Sprintf("argmax(%v) вернула %d, а наибольший элемент стоит под номером %d (%s).", fmtFloats(c.xs), got, want, c.why)
		if got < 0 {
			msg = fmt.Sprintf("argmax(%v) упала с паникой или вернула отрицательный номер (%s).", fmtFloats(c.xs), c.why)
		}
		if c.hint != "" {
			msg += " " + c.hint
		}
		return msg
	}
	return ""
}

func fmtFloats(xs []float32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
