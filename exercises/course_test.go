package exercises

import (
	"fmt"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// shaped is a model with GPT-2's shapes at a given depth and width: tasks 8 and
// 10–13 read only the config, so they are checked here on the depths the
// notebooks run on — demo's 6 blocks (d = 192) and GPT-2 small's 12 (d = 768).
func shaped(layers, heads, d int) *lensnb.Model {
	return &lensnb.Model{Config: &lm.Config{NLayer: layers, NHead: heads, NEmbd: d, NPositions: 1024, VocabSize: 50257, Family: lm.FamilyGPT2}}
}

// TestCourseTasks: for each task of notebooks 02–04, on both depths, the right
// answer (computed here independently of the checker) passes, and each usual
// mistake is rejected with its own hint, which does not give the answer away.
func TestCourseTasks(t *testing.T) {
	gen := &lm.Generation{PromptLen: 4, Sequence: make([]int, MaxLength), Steps: make([]lm.Step, MaxLength-4)}
	for _, shape := range []struct{ layers, heads, d int }{{6, 6, 192}, {12, 12, 768}} {
		m := shaped(shape.layers, shape.heads, shape.d)
		n, d := shape.layers, shape.d
		onModel := func(f func(int, *lensnb.Model) bool) func(int) bool { return func(a int) bool { return f(a, m) } }
		tests := []struct {
			name  string
			check func(int) bool
			want  int
			wrong []int
			hint  []string
		}{
			{"8 hooks", onModel(Task8), 2 + 6*n + 1, []int{6, 6 * n, 6*n + 2, 6*n + 1, n + 1, 1000},
				[]string{"одного блока", "вне блоков", "не хватает одной точки", "в начале списка", "число состояний", "точки блока 0"}},
			{"9 offset", func(a int) bool { return Task9(a, gen) }, 3, []int{4, 0, 10, 13, 7},
				[]string{"с нуля", "первый токен входа", "число шагов", "последний шаг", "последнего токена входа"}},
			{"10 sub-layer states", onModel(Task10), 2*n + 1, []int{n + 1, 2 * n, 2*n + 2, n, 3 * n},
				[]string{"обычной линзы", "«эмбеддинги»", "«после внимания» нет", "число блоков", "подписи строк"}},
			{"11 attribution rows", onModel(Task11), 2*n + 2, []int{2 * n, 2*n + 1, 2*n + 3, n * shape.heads, n + 2, 1},
				[]string{"pos_embed", "wte и wpe", "смещение ln_f", "головы внимания", "две части", "снизу вверх"}},
			{"12 translators", onModel(Task12), n, []int{n + 1, n - 1, d, 2},
				[]string{"всех состояний", "«эмбеддинги»", "ширина", "кроме последнего"}},
			{"13 translator params", onModel(Task13), n * (d*d + d), []int{d*d + d, n * d * d, (n + 1) * (d*d + d), (n - 1) * (d*d + d), n * d, 5},
				[]string{"одного переводчика", "смещение b", "у последнего", "у эмбеддингов", "d·d", "умножьте"}},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s, %d blocks", tc.name, n), func(t *testing.T) {
				checkVerdicts(t, tc.check, tc.want, tc.wrong, tc.hint)
			})
		}
	}
}

// TestCourseTasksNil: a missing model or generation is reported, not a panic.
func TestCourseTasksNil(t *testing.T) {
	for i, c := range []func() bool{
		func() bool { return Task8(1, nil) }, func() bool { return Task9(1, nil) }, func() bool { return Task10(1, nil) },
		func() bool { return Task11(1, nil) }, func() bool { return Task12(1, nil) }, func() bool { return Task13(1, nil) },
	} {
		var ok bool
		out := capture(func() { ok = c() })
		if ok || !strings.Contains(out, "не передана") || !strings.Contains(out, fmt.Sprintf("Задание %d", i+8)) {
			t.Errorf("task %d with nil: ok=%v, %q", i+8, ok, out)
		}
	}
}

// TestCourseTasksOnModel: the checkers' expected values agree with what the
// notebooks' cells compute on a real model (here the tiny random one): the
// hooks lm lists, the states of a lens with ResidMid, the rows of an
// attribution and the translators lensnb makes.
func TestCourseTasksOnModel(t *testing.T) {
	m, gen := tiny(t)
	r, err := lensnb.Prompt(m, Prompt, lensnb.Options{ResidMid: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := lensnb.AttributeIDs(m, r.InputIDs, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := lensnb.NewTunedLens(m)
	if err != nil {
		t.Fatal(err)
	}
	params := 0
	for i := range tl.W {
		params += len(tl.W[i]) + len(tl.B[i])
	}
	for _, c := range []struct {
		name  string
		ok    func() bool
		value int
	}{
		{"8", func() bool { return Task8(len(lm.HookNames(m.Config)), m) }, len(lm.HookNames(m.Config))},
		{"9", func() bool { return Task9(gen.PromptLen-1, gen) }, gen.PromptLen - 1},
		{"10", func() bool { return Task10(len(r.States), m) }, len(r.States)},
		{"11", func() bool { return Task11(len(a.Components), m) }, len(a.Components)},
		{"12", func() bool { return Task12(len(tl.W), m) }, len(tl.W)},
		{"13", func() bool { return Task13(params, m) }, params},
	} {
		var ok bool
		out := capture(func() { ok = c.ok() })
		if !ok {
			t.Errorf("task %s: the model's own value %d is rejected: %q", c.name, c.value, out)
		}
	}
}

func TestCrossings(t *testing.T) {
	p := &lensnb.Patching{Tokens: []string{"Are", " cats", " good", "?"}, Values: [][]float64{
		{0, 0.9, 0.1, 0.2}, {0, 0.7, 0.3, 0.4}, {0, 0.2, 0.6, 0.7}, {0, 0.1, 0.8, 1},
	}}
	got := Crossings(p, 1)
	for _, want := range []string{"блоков 4 (0…3)", `позиции 1 (" cats") эффект впервые ниже 0.5 у блока 2`, `последней позиции ("?") впервые не ниже 0.5 у блока 2`} {
		if !strings.Contains(got, want) {
			t.Errorf("Crossings = %q, want %q in it", got, want)
		}
	}
	p.Values = [][]float64{{0, 0.9, 0, 0.1}, {0, 0.8, 0, 0.2}}
	if got := Crossings(p, 1); !strings.Contains(got, "ниже 0.5 ни у одного блока") || !strings.Contains(got, "не ниже 0.5 ни у одного блока") {
		t.Errorf("no crossing: %q", got)
	}
	if got := Crossings(nil, 1); !strings.Contains(got, "нет результата") {
		t.Errorf("nil: %q", got)
	}
}

// TestProfileMiddleThird: the conclusion-2 table names the model's number of
// states and its middle third, on both depths the notebooks run on.
func TestProfileMiddleThird(t *testing.T) {
	for _, c := range []struct {
		states int
		lo, hi string
	}{{7, "blocks.1", "blocks.3"}, {13, "blocks.3", "blocks.7"}} {
		names := []string{"embeddings"}
		for i := 0; i < c.states-1; i++ {
			names = append(names, fmt.Sprintf("blocks.%d", i))
		}
		p := Profile{States: names, Mean: make([]float64, c.states), PeakCount: make([]int, c.states), Columns: 10}
		p.Mean[c.states/2] = 0.9
		p.Peak = c.states / 2
		want := fmt.Sprintf("состояний %d; средняя треть — от «%s» до «%s»", c.states, display.StateLabel(c.lo), display.StateLabel(c.hi))
		if got := p.String(); !strings.Contains(got, want) || !strings.Contains(got, "в средней трети") {
			t.Errorf("%d states: want %q in\n%s", c.states, want, got)
		}
	}
	sh := Shift{Shifted: 7, Pairs: 9, Aligned: 1, Columns: 10}
	if got := sh.String(); !strings.Contains(got, "нижняя строка (эмбеддинги) = верхней строке на шаг раньше: 7 из 9") || !strings.Contains(got, "вывод 1 подтверждается") {
		t.Errorf("shift: %q", got)
	}
}
