package exercises

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/logitlens-go/logitlens/gpt2"
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
	fmt.Fprintf(out(), "✗ Задание %d: ответ %s пока не верен.\n", t.n, gpt2.Thousands(answer))
	for _, h := range t.hints {
		if h.when(answer) {
			fmt.Fprintf(out(), "  Подсказка: %s\n", h.text)
			return false
		}
	}
	side := "меньше"
	if answer > t.want {
		side = "больше"
	}
	fmt.Fprintf(out(), "  Подсказка: %s (Ваш ответ %s правильного.)\n", t.general, side)
	return false
}

// missing reports a nil model or generation and returns false.
func missing(n int, what string) bool {
	fmt.Fprintf(out(), "✗ Задание %d: не передана %s — выполните ячейки выше и передайте её вторым аргументом.\n", n, what)
	return false
}

// Task1 checks the number of top-level modules of the model (PyTorch's
// model._modules): m.Modules().
func Task1(answer int, m *gpt2.Model) bool {
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
			{is(m.Config.NLayer), "это число блоков трансформера, а они лежат внутри модуля transformer. Нужны только прямые потомки самой модели."},
			{is(len(m.Summary(0).Rows)), "это все строки карточки, вместе с вложенными модулями. Нужны только модули верхнего уровня — строки с одним отступом."},
		},
		general: "напечатайте m.Modules() — это аналог model._modules в PyTorch: только прямые потомки модели, без вложенных слоёв — и посчитайте элементы (len).",
	}.check(answer)
}

// Task2 checks the total number of parameters as torchinfo reports it: the
// tied lm_head counted once more (Summary.TotalParams).
func Task2(answer int, m *gpt2.Model) bool {
	if m == nil {
		return missing(2, "модель")
	}
	s := m.Summary(0)
	return task{
		n:    2,
		want: s.TotalParams,
		right: fmt.Sprintf("Всего %s %s по счёту torchinfo. Уникальных из них %s: матрица lm_head общая с wte (%s %s), и torchinfo считает её дважды.",
			gpt2.Thousands(s.TotalParams), plural(s.TotalParams, "параметр", "параметра", "параметров"), gpt2.Thousands(s.UniqueParams),
			gpt2.Thousands(s.TiedParams), plural(s.TiedParams, "вес", "веса", "весов")),
		hints: []hint{
			{is(s.UniqueParams), "это число уникальных весов. torchinfo (и наша карточка) считает матрицу lm_head ещё раз, хотя она общая с wte: возьмите строку «Total params»."},
			{is(s.TiedParams), "это размер одной матрицы эмбеддингов wte (она же lm_head). Нужно число параметров всей модели — строка «Total params» карточки."},
		},
		general: "напечатайте карточку fmt.Println(m.Summary(len(ids))) и перепишите число из строки «Total params» цифра в цифру (в Go его можно записать с подчёркиваниями: 1_234_567).",
	}.check(answer)
}

// Task3 checks the number of transformer blocks (n_layer).
func Task3(answer int, m *gpt2.Model) bool {
	if m == nil {
		return missing(3, "модель")
	}
	s := m.Summary(0)
	return task{
		n:     3,
		want:  s.Blocks,
		right: fmt.Sprintf("В модели %d %s трансформера: h.0 … h.%d в карточке.", s.Blocks, plural(s.Blocks, "блок", "блока", "блоков"), s.Blocks-1),
		hints: []hint{
			{is(s.Blocks + 1), "так считаются скрытые состояния: к выходам блоков добавляется состояние сразу после эмбеддингов. Блоков на это состояние меньше."},
			{is(m.Config.NHead), "это число голов внимания внутри каждого блока (n_head), а не число блоков."},
			{is(len(m.Modules())), "это модули верхнего уровня. Блоки лежат глубже: transformer → h → h.N."},
		},
		general: "посчитайте в карточке строки вида «h.N (GPT2Block)» (нумерация с нуля!) или загляните в m.Config.",
	}.check(answer)
}

// Task4 checks the number of outputs of the model: one logit per vocabulary token.
func Task4(answer int, m *gpt2.Model) bool {
	if m == nil {
		return missing(4, "модель")
	}
	s := m.Summary(0)
	return task{
		n:     4,
		want:  s.Outputs,
		right: fmt.Sprintf("На каждой позиции модель выдаёт %s %s — по одному на каждый токен словаря.", gpt2.Thousands(s.Outputs), plural(s.Outputs, "логит", "логита", "логитов")),
		hints: []hint{
			{is(m.Config.NEmbd), "это ширина скрытого состояния (n_embd). Выходов у lm_head столько, сколько токенов в словаре: последняя размерность его Output Shape."},
			{is(m.Config.NPositions), "это максимальная длина контекста (n_positions), а не число выходов."},
			{is(s.Outputs - 1), "почти: это наибольший номер токена, а номера идут с нуля."},
		},
		general: "посмотрите на последнюю размерность Output Shape у lm_head (или у всей модели) в карточке.",
	}.check(answer)
}

// Task5 checks how many new tokens the generation produced after the prompt.
func Task5(answer int, gen *gpt2.Generation) bool {
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
			{is(len(gen.Sequence)), "это длина всей последовательности: gen.Sequence начинается с входных токенов. Новые идут после них."},
			{is(gen.PromptLen), "это число входных токенов (промпта). Сколько добавилось после них?"},
		},
		general: "сравните gen.Sequence с ids промпта: начало у них общее, новые токены — всё, что после gen.PromptLen (или gen.Generated()).",
	}.check(answer)
}

// Task6 checks how many tokens the generation returned in total, prompt included.
func Task6(answer int, gen *gpt2.Generation) bool {
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
		general: "посчитайте элементы gen.Sequence — генерация возвращает вход вместе с продолжением — и сравните с MaxLength, который мы задали.",
	}.check(answer)
}

// Task7 checks the number of projections of the lens over the generation: one
// per hidden state of every step (steps × states per step).
func Task7(answer int, gen *gpt2.Generation) bool {
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
		right: fmt.Sprintf("%d %s × %d %s = %d %s: по одной на каждое скрытое состояние каждого шага (на шаге 0 берём последнюю позицию промпта).",
			len(gen.Steps), plural(len(gen.Steps), "шаг", "шага", "шагов"), perStep, plural(perStep, "состояние", "состояния", "состояний"),
			total, plural(total, "проекция", "проекции", "проекций")),
		hints: []hint{
			{is(len(gen.Steps)), "это число наборов скрытых состояний (шагов генерации). А в каждом наборе состояний несколько."},
			{is(perStep), "это состояний в одном наборе. А наборов столько, сколько шагов генерации."},
			{is(len(gen.Steps) * (perStep - 1)), "не забудьте состояние сразу после эмбеддингов: в каждом наборе состояний на одно больше, чем блоков."},
			{is(vectors), "так считаются векторы по всем позициям: на шаге 0 их несколько (весь промпт). Проецируем же одно состояние — последнюю позицию — на каждое скрытое состояние шага."},
		},
		general: "перемножьте число шагов len(gen.Steps) на число скрытых состояний в шаге len(gen.Steps[0].HiddenStates).",
	}.check(answer)
}
