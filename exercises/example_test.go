package exercises_test

import (
	"fmt"

	"github.com/logitlens-go/logitlens/exercises"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// The notebooks take their model from LOGITLENS_MODEL; "tiny" is a random-weights
// model with GPT-2's tokenizer, so these examples run offline.
func ExampleLoadModelFrom() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	fmt.Println(m.Ref, exercises.IsRandom(m))
	// Output: tiny (случайные веса) true
}

func ExampleTask1() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	exercises.Task1(len(m.Modules()), m)  // a right answer
	exercises.Task1(m.Config.NLayer+5, m) // a wrong one: a hint, not the answer
	// Output:
	// ✓ Верно! У GPT2LMHeadModel 2 модуля верхнего уровня: transformer и lm_head. Всё остальное (эмбеддинги, блоки, ln_f) вложено в transformer.
	// ✗ Задание 1: ответ 7 неверен, он больше правильного.
	//   Подсказка: напечатайте m.Modules() — это аналог model._modules в PyTorch: дочерние модули модели, без вложенных в них, — и посчитайте элементы (len).
}

func ExampleTask2() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	// The numbers a student reads off exercises.Card(m, 4) for this model:
	exercises.Task2(1_635_744, m) // the «Уникальных параметров» line: not what torchinfo counts
	exercises.Task2(3_243_968, m) // the «Всего параметров» line
	// Output:
	// ✗ Задание 2: ответ 1,635,744 неверен, он меньше правильного.
	//   Подсказка: это число уникальных параметров (строка «Уникальных параметров»). torchinfo (а вслед за ним и наша карточка) считает матрицу lm_head ещё раз, хотя она общая с wte: нужна строка «Всего параметров».
	// ✓ Верно! Всего 3,243,968 параметров по счёту torchinfo. Уникальных из них 1,635,744: lm_head и wte — одна матрица (1,608,224 параметра), и torchinfo считает её дважды.
}

func ExampleTask7() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	ids := exercises.Must(m.Tokenizer.Encode(exercises.Prompt))
	gen := exercises.Must(m.Generate(ids, lm.GenerateOptions{MaxLength: exercises.MaxLength, MinLength: exercises.MaxLength}))
	exercises.Task5(len(gen.Generated()), gen)
	exercises.Task6(len(gen.Sequence), gen)
	exercises.Task7(len(gen.Steps)*len(gen.Steps[0].HiddenStates), gen)
	// Output:
	// ✓ Верно! После 4 входных токенов модель дописала 10 новых.
	// ✓ Верно! Генерация вернула 14 токенов: 4 входных и 10 новых.
	// ✓ Верно! 10 шагов × 3 состояния = 30 проекций: по одной на каждое состояние каждого шага (на шаге 0 берём последнюю позицию промпта).
}

// Remember keeps a slow value on disk, so that re-running a notebook cell (a new
// program each time) does not compute it again.
func ExampleRemember() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	for i := 0; i < 2; i++ {
		n := exercises.Must(exercises.Remember(m, "example", func() (int, error) {
			fmt.Println("computing…")
			return 42, nil
		}))
		fmt.Println(n)
	}
	// Output:
	// computing…
	// 42
	// 42
}

func ExampleShiftAgreement() {
	m := exercises.Must(exercises.LoadModelFrom("tiny"))
	gen := exercises.Must(exercises.CourseGeneration(m))
	r := exercises.Must(lensnb.FromGeneration(m, gen, lensnb.Options{NoFinalNorm: true}))
	sh := exercises.ShiftAgreement(r)
	fmt.Println(sh.Pairs, "pairs of columns,", sh.Columns, "columns")
	// Output: 9 pairs of columns, 10 columns
}
