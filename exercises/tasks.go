package exercises

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// Output receives the checkers' verdicts (and Model's warnings); nil means
// os.Stdout, which is what a notebook cell shows.
var Output io.Writer

func out() io.Writer {
	if Output == nil {
		return os.Stdout
	}
	return Output
}

// plural picks the Russian form for n: plural(n, "токен", "токена", "токенов").
func plural(n int, one, few, many string) string {
	n %= 100
	switch {
	case n >= 11 && n <= 14:
		return many
	case n%10 == 1:
		return one
	case n%10 >= 2 && n%10 <= 4:
		return few
	}
	return many
}

// hint is advice for a wrong answer that matches a known mistake.
type hint struct {
	when func(answer int) bool
	text string
}

// task is one checked question: the expected value, computed by the caller from
// the model or the generation, the message for a right answer and the hints.
type task struct {
	n       int
	want    int
	right   string // after «✓ Верно!»
	hints   []hint // the first that matches is shown
	general string // otherwise this, followed by whether the answer is too big or too small
}

func is(v int) func(int) bool { return func(a int) bool { return a == v } }

func (t task) check(answer int) bool {
	if answer == t.want {
		fmt.Fprintf(out(), "✓ Верно! %s\n", t.right)
		return true
	}
	side := "меньше"
	if answer > t.want {
		side = "больше"
	}
	fmt.Fprintf(out(), "✗ Задание %d: ответ %s неверен, он %s правильного.\n", t.n, lm.Thousands(answer), side)
	text := t.general
	for _, h := range t.hints {
		if h.when(answer) {
			text = h.text
			break
		}
	}
	fmt.Fprintf(out(), "  Подсказка: %s\n", text)
	return false
}

// paramCount counts GPT-2's parameters from its config alone, by the shapes of
// its weights (not from the model card, which lm.Summary computes its own
// way): per block two LayerNorms (2 × 2d), attention (c_attn d×3d + 3d, c_proj
// d×d + d) and the MLP (c_fc d×inner + inner, c_proj inner×d + d); then wte
// (vocab × d), wpe (positions × d) and ln_f (2d). unique counts every weight
// once; tied is wte, which lm_head reuses and torchinfo counts a second time.
func paramCount(c *lm.Config) (unique, tied int) {
	d, inner := c.NEmbd, c.Inner()
	block := 2*2*d + (d*3*d + 3*d + d*d + d) + (d*inner + inner + inner*d + d)
	tied = c.VocabSize * d
	return tied + c.NPositions*d + c.NLayer*block + 2*d, tied
}

// missing reports a nil model or generation and returns false.
func missing(n int, what string) bool {
	fmt.Fprintf(out(), "✗ Задание %d: не передана %s — выполните ячейки выше и передайте её вторым аргументом.\n", n, what)
	return false
}

// Task1 checks the number of top-level modules of the model (PyTorch's
// model._modules): the child modules of GPT2LMHeadModel, m.Modules().
func Task1(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(1, "модель")
	}
	mods := m.Modules()
	return task{
		n:    1,
		want: len(mods),
		right: fmt.Sprintf("У GPT2LMHeadModel %d %s верхнего уровня: %s. Всё остальное (эмбеддинги, блоки, ln_f) вложено в %s.",
			len(mods), plural(len(mods), "модуль", "модуля", "модулей"), strings.Join(mods, " и "), mods[0]),
		hints: []hint{
			{is(m.Config.NLayer), "это число блоков трансформера, а они лежат внутри модуля transformer. Нужны только дочерние модули самой модели."},
			{is(len(m.Summary(0).Rows)), "это все строки карточки, вместе с вложенными модулями. Нужны только модули верхнего уровня — строки с одним отступом."},
		},
		general: "напечатайте m.Modules() — это аналог model._modules в PyTorch: дочерние модули модели, без вложенных в них, — и посчитайте элементы (len).",
	}.check(answer)
}

// Task2 checks the total number of parameters as torchinfo reports it: the
// tied lm_head counted once more. The expected value is counted from the
// config (paramCount), not taken from the model card: reading the card and
// computing it are both right, and a card that disagreed with the model's shapes
// would be caught by the tests rather than echoed.
func Task2(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(2, "модель")
	}
	unique, tied := paramCount(m.Config)
	total := unique + tied
	return task{
		n:    2,
		want: total,
		right: fmt.Sprintf("Всего %s %s по счёту torchinfo. Уникальных из них %s: lm_head и wte — одна матрица (%s %s), и torchinfo считает её дважды.",
			lm.Thousands(total), plural(total, "параметр", "параметра", "параметров"), lm.Thousands(unique),
			lm.Thousands(tied), plural(tied, "параметр", "параметра", "параметров")),
		hints: []hint{
			{is(unique), "это число уникальных параметров (строка «Уникальных параметров»). torchinfo (а вслед за ним и наша карточка) считает матрицу lm_head ещё раз, хотя она общая с wte: нужна строка «Всего параметров»."},
			{is(tied), "это размер одной матрицы эмбеддингов wte (она же lm_head). Нужно число параметров всей модели — строка «Всего параметров» карточки."},
		},
		general: "перепишите число из строки «Всего параметров» карточки цифра в цифру (в Go его можно записать с подчёркиваниями: 1_234_567).",
	}.check(answer)
}

// Task3 checks the number of transformer blocks (n_layer of the config).
func Task3(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(3, "модель")
	}
	blocks := m.Config.NLayer
	return task{
		n:     3,
		want:  blocks,
		right: fmt.Sprintf("В модели %d %s трансформера: h.0 … h.%d в карточке.", blocks, plural(blocks, "блок", "блока", "блоков"), blocks-1),
		hints: []hint{
			{is(blocks + 1), "так считаются скрытые состояния: к выходам блоков добавляется состояние сразу после эмбеддингов. Блоков на одно меньше."},
			{is(blocks - 1), "это номер последнего блока, а нумерация идёт с нуля."},
			{is(m.Config.NHead), "это число голов внимания внутри каждого блока (n_head), а не число блоков."},
			{is(len(m.Modules())), "это модули верхнего уровня. Блоки лежат глубже: transformer → h → h.N."},
		},
		general: "посчитайте в карточке строки вида «h.N (GPT2Block)»; нумерация идёт с нуля.",
	}.check(answer)
}

// Task4 checks the number of outputs of the model: one logit per vocabulary
// token, as many as the rows of the tied lm_head (vocab_size of the config).
func Task4(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(4, "модель")
	}
	outputs := m.Config.VocabSize
	return task{
		n:     4,
		want:  outputs,
		right: fmt.Sprintf("На каждой позиции модель выдаёт %s %s — по одному на каждый токен словаря.", lm.Thousands(outputs), plural(outputs, "логит", "логита", "логитов")),
		hints: []hint{
			{is(m.Config.NEmbd), "это ширина скрытого состояния (n_embd). Выходов у lm_head столько, сколько токенов в словаре: последнее число в форме его выхода."},
			{is(m.Config.NPositions), "это наибольшая длина контекста (n_positions), а не число выходов."},
			{is(outputs - 1), "почти: это наибольший номер токена, а номера идут с нуля."},
		},
		general: "посмотрите на последнее число в форме выхода lm_head (или всей модели) в карточке: [1, позиции, выходы].",
	}.check(answer)
}

// Task5 checks how many new tokens the generation produced after the prompt.
func Task5(answer int, gen *lm.Generation) bool {
	if gen == nil {
		return missing(5, "генерация")
	}
	newTokens := len(gen.Generated())
	return task{
		n:    5,
		want: newTokens,
		right: fmt.Sprintf("После %d %s модель дописала %d %s.", gen.PromptLen, plural(gen.PromptLen, "входного токена", "входных токенов", "входных токенов"),
			newTokens, plural(newTokens, "новый", "новых", "новых")),
		hints: []hint{
			{is(len(gen.Sequence)), "это длина всей последовательности: gen.Sequence начинается с входных токенов, а новые идут после них."},
			{is(gen.PromptLen), "это число входных токенов (промпта). Сколько добавилось после них?"},
		},
		general: "сравните gen.Sequence с ids промпта: начало у них общее, а новые токены — всё, что идёт после входа.",
	}.check(answer)
}

// Task6 checks how many tokens the generation returned in total, prompt included.
func Task6(answer int, gen *lm.Generation) bool {
	if gen == nil {
		return missing(6, "генерация")
	}
	total := len(gen.Sequence)
	return task{
		n:    6,
		want: total,
		right: fmt.Sprintf("Генерация вернула %d %s: %d %s и %d %s.", total, plural(total, "токен", "токена", "токенов"),
			gen.PromptLen, plural(gen.PromptLen, "входной", "входных", "входных"), total-gen.PromptLen, plural(total-gen.PromptLen, "новый", "новых", "новых")),
		hints: []hint{
			{is(len(gen.Generated())), "это только новые токены. Здесь нужна вся последовательность, которую вернула генерация, вместе со входом."},
			{is(gen.PromptLen), "это только вход. Нужна вся последовательность: вход и продолжение."},
		},
		general: "посчитайте элементы gen.Sequence (генерация возвращает вход вместе с продолжением) и сравните с MaxLength, который мы задали.",
	}.check(answer)
}

// Task7 checks the number of projections of the lens over the generation: one
// per hidden state of every step (steps × states per step).
func Task7(answer int, gen *lm.Generation) bool {
	if gen == nil {
		return missing(7, "генерация")
	}
	total, perStep, vectors := 0, 0, 0
	for _, st := range gen.Steps {
		total += len(st.HiddenStates)
		perStep = len(st.HiddenStates)
		vectors += len(st.HiddenStates) * len(st.Positions)
	}
	if total == 0 {
		fmt.Fprintln(out(), "✗ Задание 7: в генерации нет скрытых состояний — не ставьте NoHiddenStates в GenerateOptions.")
		return false
	}
	return task{
		n:    7,
		want: total,
		right: fmt.Sprintf("%d %s × %d %s = %d %s: по одной на каждое состояние каждого шага (на шаге 0 берём последнюю позицию промпта).",
			len(gen.Steps), plural(len(gen.Steps), "шаг", "шага", "шагов"), perStep, plural(perStep, "состояние", "состояния", "состояний"),
			total, plural(total, "проекция", "проекции", "проекций")),
		hints: []hint{
			{is(len(gen.Steps)), "это число наборов скрытых состояний (шагов генерации). А в каждом наборе состояний несколько."},
			{is(perStep), "это число состояний в одном наборе. А наборов столько, сколько шагов генерации."},
			{is(len(gen.Steps) * (perStep - 1)), "не забудьте состояние сразу после эмбеддингов: в каждом наборе состояний на одно больше, чем блоков."},
			{is(vectors), "так считаются векторы по всем позициям: на шаге 0 их несколько (весь промпт). Линза же на каждом шаге берёт одну позицию — последнюю — и проецирует каждое её состояние."},
		},
		general: "одна проекция — это одно состояние одного шага. Сколько шагов в gen.Steps и сколько состояний в каждом из них?",
	}.check(answer)
}
