package exercises

// The softmax exercise of Part 1: the student turns a projection's logits into
// probabilities and reads the top-1's probability, the number the lens's
// heatmap colours and both conclusions of the course rest on.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// SoftmaxFunc is the student's softmax: probabilities (float64) of logits z.
type SoftmaxFunc func(z []float32) []float64

// softmaxName heads the softmax exercise's messages.
const softmaxName = "Упражнение «softmax»"

// CheckSoftmax checks the student's softmax on vectors made to catch the usual
// mistakes — logits so large that exp overflows without subtracting the maximum,
// a whole vocabulary of logits where float32 arithmetic loses digits — and then
// on the model: the top-1 probability of a real projection must be the lens
// cell's. It prints «✓ Верно!…» or what went wrong, and reports whether it is right.
func CheckSoftmax(softmax SoftmaxFunc, m *lensnb.Model) bool {
	if softmax == nil || m == nil {
		fmt.Fprintf(out(), "✗ %s: передайте функцию и модель — CheckSoftmax(softmax, m).\n", softmaxName)
		return false
	}
	for _, c := range softmaxCases() {
		got, msg := callSoftmax(softmax, c.z)
		if msg == "" {
			msg = compareProbs(got, exactSoftmax(c.z), c.tol, c.hint)
		}
		if msg != "" {
			fmt.Fprintf(out(), "✗ %s: на %s: %s\n", softmaxName, c.what, msg)
			return false
		}
	}
	p, want, err := softmaxOnModel(softmax, m)
	if err != nil {
		fmt.Fprintf(out(), "✗ %s: %v\n", softmaxName, err)
		return false
	}
	if math.Abs(p-want) > 1e-5 {
		fmt.Fprintf(out(), "✗ %s: на проекции модели вероятность top-1 вышла %.6f, а в ячейке линзы %.6f. Top-1 — это наибольший логит: "+
			"его вероятность стоит в softmax(z) под тем же номером, что и argmax(z).\n", softmaxName, p, want)
		return false
	}
	fmt.Fprintf(out(), "✓ Верно! softmax выдерживает логиты порядка тысяч, сходится с точным ответом на всём словаре, "+
		"а вероятность top-1 на проекции модели совпала с ячейкой линзы (%.4f).\n", want)
	return true
}

// float32Hint is the hint for an answer right to float32's precision only.
const float32Hint = "Ответ верен лишь с точностью float32. Считайте в float64: z[i] — float32, переведите его, float64(z[i]), " +
	"и только потом вычитайте и берите math.Exp; сумма 50 257 слагаемых во float32 теряет знаки. " +
	"(Go не смешивает float32 и float64 в одном выражении: преобразование нужно писать явно.)"

// softmaxCase is one vector the student's softmax is checked on.
type softmaxCase struct {
	what string
	z    []float32
	tol  float64
	hint string // what the usual mistake on this vector is
}

func softmaxCases() []softmaxCase {
	rng := rand.New(rand.NewPCG(7, 11))
	vocab := make([]float32, 50257)
	for i := range vocab {
		vocab[i] = float32(rng.NormFloat64()*4 - 2)
	}
	return []softmaxCase{
		{"логитах [1, 2, 3]", []float32{1, 2, 3}, 1e-9, "p_i = exp(z_i) / Σ_j exp(z_j); сумма вероятностей — 1."},
		{"логитах [1000, 1001, 1002]", []float32{1000, 1001, 1002}, 1e-9,
			"exp(1000) не помещается даже в float64 и даёт +Inf, а Inf/Inf — NaN. Вычтите из всех логитов наибольший: " +
				"exp(z_i − max) / Σ_j exp(z_j − max) — то же самое, но без переполнения."},
		{"логитах [−1000, −999, −998]", []float32{-1000, -999, -998}, 1e-9,
			"exp(−1000) в float64 — ноль, и сумма — ноль: вычитание наибольшего логита спасает и здесь."},
		{"50 257 логитах, как у словаря GPT-2", vocab, 1e-9, float32Hint},
	}
}

// callSoftmax runs the student's softmax, turning a panic into a message.
func callSoftmax(softmax SoftmaxFunc, z []float32) (p []float64, msg string) {
	defer func() {
		if r := recover(); r != nil {
			p, msg = nil, fmt.Sprintf("функция упала с паникой: %v.", r)
		}
	}()
	return softmax(append([]float32(nil), z...)), ""
}

// compareProbs says what is wrong with got against want, or returns "".
func compareProbs(got, want []float64, tol float64, hint string) string {
	if len(got) != len(want) {
		return fmt.Sprintf("функция вернула %d %s, а логитов было %d: нужна вероятность для каждого.", len(got), plural(len(got), "число", "числа", "чисел"), len(want))
	}
	sum := 0.0
	for i, p := range got {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Sprintf("вероятность %d — %v. %s", i, p, hint)
		}
		sum += p
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > tol*want[i] { // relative: float32 arithmetic errs by ~1e-7 of each value
			if d < 1e-5*want[i] { // close, but not to float64's precision
				hint = float32Hint
			}
			return fmt.Sprintf("вероятность %d — %.12g, а должна быть %.12g (сумма всех %.12g). %s", i, got[i], want[i], sum, hint)
		}
	}
	return ""
}

// exactSoftmax is softmax in float64 around the maximum.
func exactSoftmax(z []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	out, sum := make([]float64, len(z)), 0.0
	for i, v := range z {
		out[i] = math.Exp(float64(v) - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// softmaxOnModel is the student's top-1 probability of the middle state at step
// 0 of the course's generation, without ln_f, and the lens cell's.
func softmaxOnModel(softmax SoftmaxFunc, m *lensnb.Model) (got, want float64, err error) {
	gen, err := CourseGeneration(m)
	if err != nil {
		return 0, 0, err
	}
	r, err := CourseLens(m)
	if err != nil {
		return 0, 0, err
	}
	s := len(gen.Steps[0].HiddenStates) / 2
	h := gen.Steps[0].HiddenStates[s]
	last := h.Shape[0] - 1
	logits, err := lensnb.DecodeLogits(m, &lm.Array{Shape: []int{1, h.Shape[1]}, Data: h.Row(last)}, false)
	if err != nil {
		return 0, 0, err
	}
	p, msg := callSoftmax(softmax, logits.Data)
	if msg != "" || len(p) != len(logits.Data) {
		return 0, 0, fmt.Errorf("на проекции модели: %s", msg)
	}
	top := 0
	for i, v := range logits.Data {
		if v > logits.Data[top] {
			top = i
		}
	}
	return p[top], r.Cells[s][0].Top[0].Prob, nil
}
