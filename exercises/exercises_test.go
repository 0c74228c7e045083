package exercises

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
	"github.com/logitlens-go/logitlens/resident"
)

// TestMain keeps the fixtures and Remember's values in a temporary cache, and
// the resident model servers the tests start in a runtime folder of their own:
// a server left from an earlier run would serve a model from that run's
// (deleted) cache. The servers are stopped at the end.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exercises-cache-")
	if err != nil {
		panic(err)
	}
	rt := filepath.Join(dir, "resident")
	if err := os.Mkdir(rt, 0o700); err != nil {
		panic(err)
	}
	os.Setenv("LOGITLENS_CACHE", dir)
	os.Setenv(resident.EnvDir, rt)
	os.Setenv(resident.EnvIdle, "2m")
	os.Setenv(EnvModel, "tiny")
	code := m.Run()
	for _, ref := range []string{"tiny", "TINY", "gpt2"} {
		_ = lensnb.StopResident(ref)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// tiny loads the tiny random-weights model and the course's generation on it.
func tiny(t *testing.T) (*lensnb.Model, *lm.Generation) {
	t.Helper()
	m, err := LoadModelFrom("tiny")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := m.Tokenizer.Encode(Prompt)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := m.Generate(ids, lm.GenerateOptions{MaxLength: MaxLength, MinLength: MaxLength})
	if err != nil {
		t.Fatal(err)
	}
	return m, gen
}

// capture runs f with Output redirected and returns what it printed.
func capture(f func()) string {
	var buf bytes.Buffer
	old := Output
	Output = &buf
	defer func() { Output = old }()
	f()
	return buf.String()
}

func TestCheckers(t *testing.T) {
	m, gen := tiny(t)
	cfg, s := m.Config, m.Summary(0)
	steps, perStep := len(gen.Steps), len(gen.Steps[0].HiddenStates)
	type checker func(answer int) bool
	onModel := func(f func(int, *lensnb.Model) bool) checker { return func(a int) bool { return f(a, m) } }
	onGen := func(f func(int, *lm.Generation) bool) checker { return func(a int) bool { return f(a, gen) } }

	tests := []struct {
		name  string
		check checker
		want  int   // computed from the model here too, independently of the checker
		wrong []int // answers that must be rejected with a hint
		hint  []string
	}{
		{"1 modules", onModel(Task1), 2, []int{3, len(s.Rows), 0},
			[]string{"m.Modules()", "строки карточки", "m.Modules()"}},
		{"2 params", onModel(Task2), paramsByFormula(cfg), []int{s.UniqueParams, s.TiedParams, 12345},
			[]string{"уникальных", "одной матрицы", "Всего параметров"}},
		{"3 blocks", onModel(Task3), cfg.NLayer, []int{cfg.NLayer + 1, cfg.NLayer - 1, cfg.NHead, 100},
			[]string{"скрытые состояния", "с нуля", "голов", "h.N"}},
		{"4 outputs", onModel(Task4), cfg.VocabSize, []int{cfg.NEmbd, cfg.NPositions, cfg.VocabSize - 1, 7},
			[]string{"n_embd", "n_positions", "с нуля", "форме выхода"}},
		{"5 new tokens", onGen(Task5), MaxLength - 4, []int{MaxLength, 4, 1},
			[]string{"всей последовательности", "входных", "gen.Sequence"}},
		{"6 total tokens", onGen(Task6), MaxLength, []int{MaxLength - 4, 4, 99},
			[]string{"только новые", "только вход", "gen.Sequence"}},
		{"7 projections", onGen(Task7), steps * (cfg.NLayer + 1), []int{steps, perStep, steps * cfg.NLayer, 4*perStep + (steps-1)*perStep, 1},
			[]string{"наборов", "в одном наборе", "после эмбеддингов", "по всем позициям", "одно состояние одного шага"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, out := range checkVerdicts(t, tc.check, tc.want, tc.wrong, tc.hint) {
				side := "меньше"
				if tc.wrong[i] > tc.want {
					side = "больше"
				}
				if !strings.Contains(out, "неверен, он "+side+" правильного") {
					t.Errorf("wrong answer %d: the verdict does not say it is %s than the right one: %q", tc.wrong[i], side, out)
				}
			}
		})
	}
}

func TestCheckersNil(t *testing.T) {
	checks := []func() bool{
		func() bool { return Task1(2, nil) }, func() bool { return Task2(2, nil) },
		func() bool { return Task3(2, nil) }, func() bool { return Task4(2, nil) },
		func() bool { return Task5(2, nil) }, func() bool { return Task6(2, nil) },
		func() bool { return Task7(2, nil) },
	}
	for i, c := range checks {
		var ok bool
		out := capture(func() { ok = c() })
		if ok || !strings.Contains(out, "не передана") {
			t.Errorf("task %d with nil: ok=%v, %q", i+1, ok, out)
		}
	}
}

func TestTask7NoHiddenStates(t *testing.T) {
	m, _ := tiny(t)
	gen, err := m.Generate([]int{1, 2}, lm.GenerateOptions{MaxNewTokens: 3, NoHiddenStates: true})
	if err != nil {
		t.Fatal(err)
	}
	out := capture(func() {
		if Task7(0, gen) {
			t.Error("accepted")
		}
	})
	if !strings.Contains(out, "NoHiddenStates") {
		t.Errorf("got %q", out)
	}
}

func TestLoadModel(t *testing.T) {
	for _, name := range []string{"tiny", " TINY "} {
		m, err := LoadModelFrom(name)
		if err != nil {
			t.Fatal(err)
		}
		if !IsRandom(m) || !strings.Contains(m.Ref, "случайные веса") || !strings.Contains(Describe(m), "⚠") {
			t.Errorf("%q: not labelled as random: Ref=%q, %s", name, m.Ref, Describe(m))
		}
	}
	t.Setenv(EnvModel, "tiny")
	if m, err := LoadModel(); err != nil || !IsRandom(m) {
		t.Fatalf("LoadModel with %s=tiny: %v", EnvModel, err)
	}
}

func TestLoadModelMissing(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	for _, ref := range []string{"gpt2", t.TempDir() + "/nothing-here"} {
		_, err := LoadModelFrom(ref)
		var le *LoadError
		if !errors.As(err, &le) {
			t.Fatalf("%s: want a *LoadError, got %v", ref, err)
		}
		msg := err.Error()
		for _, want := range []string{"%env LOGITLENS_MODEL=/путь/к/папке", "HF_ENDPOINT", "%env LOGITLENS_MODEL=tiny", "demo"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the message does not say %q:\n%s", ref, want, msg)
			}
		}
	}
}

func TestModelExitsWithAdvice(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv(EnvModel, "gpt2")
	var stderr bytes.Buffer
	code := -1
	oldExit, oldErr := exit, errOut
	exit, errOut = func(c int) { code = c }, &stderr
	defer func() { exit, errOut = oldExit, oldErr }()
	modelOnce, model, modelErr = new(sync.Once), nil, nil
	defer func() { modelOnce, model, modelErr = new(sync.Once), nil, nil }()

	if Model() != nil || code != 1 || !strings.Contains(stderr.String(), "Что сделать") {
		t.Errorf("exit code %d, stderr %q", code, stderr.String())
	}
}

func TestMust(t *testing.T) {
	var stderr bytes.Buffer
	code := -1
	oldExit, oldErr := exit, errOut
	exit, errOut = func(c int) { code = c }, &stderr
	defer func() { exit, errOut = oldExit, oldErr }()
	if v := Must(7, nil); v != 7 || code != -1 {
		t.Errorf("Must(7, nil) = %d, exit %d", v, code)
	}
	Must(0, errors.New("boom"))
	if code != 1 || !strings.Contains(stderr.String(), "Ошибка: boom") {
		t.Errorf("exit %d, %q", code, stderr.String())
	}
	code = -1
	Check(nil)
	if code != -1 {
		t.Error("Check(nil) ended the program")
	}
	Check(errors.New("bang"))
	if code != 1 || !strings.Contains(stderr.String(), "Ошибка: bang") {
		t.Errorf("Check: exit %d, %q", code, stderr.String())
	}
}

func TestRemember(t *testing.T) {
	m, _ := tiny(t)
	calls := 0
	f := func() ([]int, error) { calls++; return []int{1, 2, 3}, nil }
	for i := 0; i < 2; i++ {
		v, err := Remember(m, "test-key", f)
		if err != nil || len(v) != 3 || v[2] != 3 {
			t.Fatalf("Remember = %v, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times, want once", calls)
	}
	if _, err := Remember(m, "other-key", f); err != nil || calls != 2 {
		t.Errorf("a different key must be computed: calls=%d err=%v", calls, err)
	}
	if _, err := Remember(m, "failing", func() (int, error) { return 0, errors.New("no") }); err == nil {
		t.Error("the error of fn must be returned")
	}

	gen, err := CourseGeneration(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := CourseGeneration(m)
	if err != nil || fmt.Sprint(again.Sequence) != fmt.Sprint(gen.Sequence) || len(again.Steps[3].HiddenStates) != m.Config.NLayer+1 {
		t.Fatalf("remembered generation differs: %v vs %v (%v)", again.Sequence, gen.Sequence, err)
	}
	if err := Forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := Remember(m, "test-key", f); err != nil || calls != 3 {
		t.Errorf("after Forget the value must be computed again: calls=%d", calls)
	}
}

func TestLMHeadByHand(t *testing.T) {
	m, gen := tiny(t)
	w, err := LMHead(m)
	if err != nil {
		t.Fatal(err)
	}
	if w.Shape[0] != m.Config.VocabSize || w.Shape[1] != m.Config.NEmbd {
		t.Fatalf("lm_head shape %v", w.Shape)
	}
	h := gen.Steps[1].HiddenStates[1] // [1, d]
	want, err := lensnb.DecodeLogits(m, h, false)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Config.NEmbd
	for v := 0; v < m.Config.VocabSize; v += 997 {
		var z float32
		for i := 0; i < d; i++ {
			z += w.Data[v*d+i] * h.Data[i]
		}
		if diff := z - want.Data[v]; diff > 1e-4 || diff < -1e-4 {
			t.Fatalf("token %d: by hand %g, DecodeLogits %g", v, z, want.Data[v])
		}
	}
}

func TestConclusionsAndCompare(t *testing.T) {
	m, gen := tiny(t)
	r, err := lensnb.FromGeneration(m, gen, lensnb.Options{NoFinalNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	sh := ShiftAgreement(r)
	if sh.Pairs != len(r.Columns)-1 || sh.Columns != len(r.Columns) || !strings.Contains(sh.String(), "вывод 1") {
		t.Errorf("shift %+v: %s", sh, sh)
	}
	p := ConfidenceProfile(r)
	total := 0
	for _, n := range p.PeakCount {
		total += n
	}
	if len(p.Mean) != len(r.States) || total != len(r.Columns) || !strings.Contains(p.String(), "вывод 2") {
		t.Errorf("profile %+v", p)
	}

	// The prompt lens without ln_f over the generated sequence is the generation
	// lens: the course's two lenses agree once they decode the same states.
	seq := gen.Sequence[:len(gen.Sequence)-1]
	pr, err := lensnb.PromptIDs(m, seq, lensnb.Options{NoFinalNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := Compare(pr, gen.PromptLen-1, r)
	if err != nil {
		t.Fatal(err)
	}
	if ag.SameTop1 != ag.Cells || ag.MaxProbDiff > 1e-4 {
		t.Errorf("lenses disagree: %s", ag)
	}
	if _, err := Compare(pr, 10, r); err == nil {
		t.Error("Compare past the last column must fail")
	}
	grid := Top1Grid(r)
	if strings.Count(grid, "\n") != len(r.States)+1 || !strings.Contains(grid, "blocks.1") {
		t.Errorf("grid:\n%s", grid)
	}
}

func TestVisible(t *testing.T) {
	if got := Visible(" cats\n"); got != "␣cats↵" {
		t.Errorf("Visible = %q", got)
	}
}

func TestCourseLens(t *testing.T) {
	m, _ := tiny(t)
	r, err := CourseLens(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := CourseLens(m) // from the cache
	if err != nil {
		t.Fatal(err)
	}
	if r.FinalNorm || len(r.Columns) != MaxLength-4 || len(r.States) != m.Config.NLayer+1 ||
		fmt.Sprint(r.Top1()) != fmt.Sprint(again.Top1()) {
		t.Errorf("course lens: final norm %v, %d columns, %d states", r.FinalNorm, len(r.Columns), len(r.States))
	}
}

func TestLargeModel(t *testing.T) {
	t.Setenv(EnvLargeModel, "")
	if LargeModel() != "gpt2-xl" {
		t.Error(LargeModel())
	}
	t.Setenv(EnvLargeModel, "gpt2-medium")
	if LargeModel() != "gpt2-medium" {
		t.Error(LargeModel())
	}
}

// paramsByFormula is torchinfo's count for a config, written out once more
// here: GPT-2 small's 163,037,184 is 2·V·d + P·d + L·(12d² + 13d) + 2d.
func paramsByFormula(c *lm.Config) int {
	V, P, L, d := c.VocabSize, c.NPositions, c.NLayer, c.NEmbd
	return 2*V*d + P*d + L*(12*d*d+13*d) + 2*d
}

// TestTask2Independent: the checker's count agrees with the tensors a loaded
// model holds, with the model card and with GPT-2 small's number from the course,
// so reading the card and computing the number both pass.
func TestTask2Independent(t *testing.T) {
	for _, name := range []string{"tiny"} {
		m, err := LoadModelFrom(name)
		if err != nil {
			t.Fatal(err)
		}
		unique, tied := paramCount(m.Config)
		s := m.Summary(4)
		if unique+tied != paramsByFormula(m.Config) || unique+tied != s.TotalParams || unique != s.UniqueParams {
			t.Errorf("%s: checker %d + %d, formula %d, card %d", name, unique, tied, paramsByFormula(m.Config), s.TotalParams)
		}
		// The weights themselves, read from the checkpoint folder.
		local, err := gpt2.LoadDir(m.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if n := local.Store().NumParameters(); n != unique {
			t.Errorf("%s: the checkpoint holds %d weights, the checker counts %d", name, n, unique)
		}
		var byFormula, byCard bool
		capture(func() { byFormula, byCard = Task2(paramsByFormula(m.Config), m), Task2(s.TotalParams, m) })
		if !byFormula || !byCard {
			t.Errorf("%s: a right answer was rejected (formula %v, card %v)", name, byFormula, byCard)
		}
	}
	// Configs not loaded here: the card's own count and the checker's agree too.
	for _, c := range []*lm.Config{
		{NLayer: 12, NHead: 4, NEmbd: 128, NPositions: 1024, VocabSize: 50257},
		{NLayer: 6, NHead: 6, NEmbd: 192, NPositions: 256, VocabSize: 50257},
		{NLayer: 48, NHead: 25, NEmbd: 1600, NPositions: 1024, VocabSize: 50257},
	} {
		if u, tied := paramCount(c); u+tied != lm.NewSummary(c, 4).TotalParams || u+tied != paramsByFormula(c) {
			t.Errorf("%+v: checker %d, card %d, formula %d", c, u+tied, lm.NewSummary(c, 4).TotalParams, paramsByFormula(c))
		}
	}
	gpt2Small := &lm.Config{NLayer: 12, NHead: 12, NEmbd: 768, NPositions: 1024, VocabSize: 50257}
	if u, tied := paramCount(gpt2Small); u+tied != 163_037_184 || u != 124_439_808 || lm.NewSummary(gpt2Small, 4).TotalParams != u+tied {
		t.Errorf("GPT-2 small: %d + %d, card %d, want the course's 163,037,184 (124,439,808 unique)", u, tied, lm.NewSummary(gpt2Small, 4).TotalParams)
	}
}

// Ways to write the projection and argmax, right and wrong.
func projectF32(W *lm.Array, h []float32) []float32 {
	d := W.Shape[1]
	logits := make([]float32, W.Shape[0])
	for v := range logits {
		var z float32
		for i, x := range h {
			z += W.Data[v*d+i] * x
		}
		logits[v] = z
	}
	return logits
}

// projectF64Backwards sums in float64, from the last component to the first.
func projectF64Backwards(W *lm.Array, h []float32) []float32 {
	d := W.Shape[1]
	logits := make([]float32, W.Shape[0])
	for v := range logits {
		z := 0.0
		for i := d - 1; i >= 0; i-- {
			z += float64(W.Data[v*d+i]) * float64(h[i])
		}
		logits[v] = float32(z)
	}
	return logits
}

func argmaxFirst(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// argmaxLastTie keeps the last of equal maxima: still a right argmax.
func argmaxLastTie(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x >= xs[best] {
			best = i
		}
	}
	return best
}

func TestCheckProjection(t *testing.T) {
	m, _ := tiny(t)
	run := func(p ProjectFunc, a ArgmaxFunc) (bool, string) {
		var ok bool
		out := capture(func() { ok = CheckProjection(p, a, m) })
		return ok, out
	}
	for _, right := range []struct {
		name string
		p    ProjectFunc
		a    ArgmaxFunc
	}{{"float32", projectF32, argmaxFirst}, {"float64 backwards, last of ties", projectF64Backwards, argmaxLastTie}} {
		if ok, out := run(right.p, right.a); !ok || !strings.HasPrefix(out, "✓ Верно!") {
			t.Errorf("%s: a right solution was rejected: %q", right.name, out)
		}
	}

	// The student notebook's skeleton: project returns zeros, argmax 0.
	zeros := func(W *lm.Array, h []float32) []float32 { return make([]float32, W.Shape[0]) }
	zeroArg := func(xs []float32) int { return 0 }
	// argmax that starts from the value 0: wrong on negative vectors.
	zeroInit := func(xs []float32) int {
		best, val := -1, float32(0)
		for i, x := range xs {
			if x > val {
				best, val = i, x
			}
		}
		return best
	}
	// Reading W column by column.
	columns := func(W *lm.Array, h []float32) []float32 {
		vocab := W.Shape[0]
		logits := make([]float32, vocab)
		for v := range logits {
			for i, x := range h {
				logits[v] += W.Data[i*vocab+v] * x
			}
		}
		return logits
	}
	short := func(W *lm.Array, h []float32) []float32 { return projectF32(W, h)[:10] }
	offByOne := func(W *lm.Array, h []float32) []float32 {
		l := projectF32(W, h)
		return append(l[1:], l[0])
	}
	panics := func(W *lm.Array, h []float32) []float32 {
		d := W.Shape[1]
		logits := make([]float32, W.Shape[0])
		for v := range logits {
			for i := range h {
				logits[v] += W.Data[(v+1)*d+i] * h[i] // runs past the end on the last row
			}
		}
		return logits
	}
	wrong := []struct {
		name string
		p    ProjectFunc
		a    ArgmaxFunc
		want string
	}{
		{"skeleton", zeros, zeroArg, "похоже, цикл ещё не написан"},
		{"unfilled argmax", projectF32, zeroArg, "project верна, но argmax ошибается. Она всегда возвращает 0"},
		{"unfilled project", zeros, argmaxFirst, "похоже, цикл ещё не написан"},
		{"argmax from zero", projectF32, zeroInit, "все числа отрицательные"},
		{"columns", columns, argmaxFirst, "хранится по строкам"},
		{"short", short, argmaxFirst, "по одному логиту на каждый токен"},
		{"off by one", offByOne, argmaxFirst, "скалярное произведение строки v"},
		{"panics", panics, argmaxFirst, "паникой"},
		{"nil", nil, argmaxFirst, "передайте обе функции"},
	}
	for _, w := range wrong {
		if ok, out := run(w.p, w.a); ok || !strings.HasPrefix(out, "✗ Упражнение") || !strings.Contains(out, w.want) {
			t.Errorf("%s: ok=%v, want a message with %q, got %q", w.name, ok, w.want, out)
		}
	}
	if ok := CheckProjection(projectF32, argmaxFirst, nil); ok {
		t.Error("nil model accepted")
	}
}

func TestReadbacks(t *testing.T) {
	m, _ := tiny(t)
	ids, err := m.Tokenizer.Encode(Prompt)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Readbacks(m, ids)
	if err != nil {
		t.Fatal(err)
	}
	// The lens without ln_f over the prompt: its embeddings row is the dot-product readback.
	r, err := lensnb.PromptIDs(m, ids, lensnb.Options{NoFinalNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	W, _ := LMHead(m)
	d := W.Shape[1]
	for p, rb := range rs {
		if rb.Token != ids[p] || rb.StateGap > 1e-5 {
			t.Errorf("position %d: token %d, state gap %g", p, rb.Token, rb.StateGap)
		}
		if lens := r.Cells[0][p].Top[0].ID; rb.Dot != lens {
			t.Errorf("position %d: dot-product top-1 %d, the lens's embeddings row says %d", p, rb.Dot, lens)
		}
		// The cosine top-1 and the input's rank, by brute force over a sort.
		x := make([]float64, d)
		for i := range x {
			x[i] = float64(W.Data[ids[p]*d+i]) // wpe is added below
		}
		pos, _ := m.WeightRows("wpe.weight", p)
		cos := make([]float64, W.Shape[0])
		for v := range cos {
			var dot, nv float64
			for i := range d {
				w := float64(W.Data[v*d+i])
				dot += w * (x[i] + float64(pos.Data[i]))
				nv += w * w
			}
			cos[v] = dot / math.Sqrt(nv)
		}
		order := sortedByValue(cos)
		if rb.Cos != order[0] {
			t.Errorf("position %d: cosine top-1 %d, want %d", p, rb.Cos, order[0])
		}
		if rank := slices.Index(order, ids[p]); rb.CosRank != rank {
			t.Errorf("position %d: cosine rank %d, want %d", p, rb.CosRank, rank)
		}
	}
	table := ReadbackTable(m, rs)
	if strings.Count(table, "\n") != len(rs)+3 || !strings.Contains(table, "по косинусу") || !strings.Contains(table, "На этой модели") {
		t.Errorf("table:\n%s", table)
	}
}

func TestCard(t *testing.T) {
	m, _ := tiny(t)
	c := Card(m, 4)
	s := m.Summary(4)
	for _, want := range []string{"Всего параметров", lm.Thousands(s.TotalParams), lm.Thousands(s.UniqueParams), "h.1 (GPT2Block)", "[1, 4, 50257]", "общая с wte"} {
		if !strings.Contains(c, want) {
			t.Errorf("card lacks %q:\n%s", want, c)
		}
	}
	for _, leak := range []string{"blocks", "Outputs", "Блоков", "Выходов", "словар"} {
		if strings.Contains(c, leak) {
			t.Errorf("the card spells out tasks 3–4 (%q):\n%s", leak, c)
		}
	}
	if b := Brief(m); !strings.Contains(b, "tiny") || strings.Contains(b, "блок") || strings.Contains(b, "50,257") {
		t.Errorf("Brief = %q", b)
	}
}

// sortedByValue returns the indices of xs from the largest value down (ties by index).
func sortedByValue(xs []float64) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] > xs[idx[b]] })
	return idx
}

// Without LOGITLENS_MODEL and without GPT-2 in the cache or the network, the
// notebooks get the demo model and one line that says so, not an error; an
// explicit gpt2 still gets the error with its ways out.
func TestDefaultModelOffline(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv(EnvModel, "")
	var m *lensnb.Model
	var err error
	printed := capture(func() { m, err = LoadModel() })
	if err != nil || !lensnb.IsDemo(m) || !strings.Contains(printed, "работаем с моделью demo") || !strings.Contains(printed, "LOGITLENS_MODEL=gpt2") {
		t.Errorf("offline default: %v, demo %v, printed %q", err, m != nil && lensnb.IsDemo(m), printed)
	}
	t.Setenv(EnvModel, "gpt2")
	if _, err := LoadModel(); err == nil {
		t.Error("an explicit gpt2 offline must be an error")
	}
}
