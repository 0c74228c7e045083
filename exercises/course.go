package exercises

// The checked tasks of notebooks 02–04 (tasks 8–13), numbered on from notebook
// 01's seven. Each expected value is computed here from the model's config or
// the generation, never read from what the notebook printed, and each hint
// names a usual mistake in the words of notebook 01's glossary (блок,
// состояние, остаточный поток, точка перехвата).

import (
	"fmt"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// blockHookCount is how many hooks each block has (lm's blockHooks: resid_pre,
// attn.hook_z, attn_out, resid_mid, mlp_out, resid_post).
const blockHookCount = 6

// embeddingParts is how many embeddings write into the residual stream before
// block 0: the token's, and the position's where the model learns positions.
func embeddingParts(c *lm.Config) int {
	if c.RotaryDims() == 0 {
		return 2
	}
	return 1
}

// Task8 checks the number of hooks of the model (notebook 02): the embeddings'
// hooks, six per block and the one inside ln_f.
func Task8(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(8, "модель")
	}
	n := m.Config.NLayer
	want := embeddingParts(m.Config) + blockHookCount*n + 1
	return task{
		n:     8,
		want:  want,
		right: fmt.Sprintf("У модели %d %s перехвата: %d в начале, по %d у каждого из %d блоков и одна внутри ln_f.", want, plural(want, "точка", "точки", "точек"), embeddingParts(m.Config), blockHookCount, n),
		hints: []hint{
			{is(blockHookCount), "это точки одного блока (blocks.0.…). Такие же шесть есть у каждого блока модели: их число — m.Config.NLayer."},
			{is(blockHookCount * n), "это точки всех блоков. Но поток перехватывают и вне блоков: эмбеддинги в начале списка и ln_final.hook_normalized в конце."},
			{is(blockHookCount*n + embeddingParts(m.Config)), "не хватает одной точки: проверьте и начало списка (эмбеддинги токенов и позиций — у каждого своя точка), и его конец (ln_final.hook_normalized, внутри ln_f)."},
			{is(blockHookCount*n + 1), "не хватает точек в начале списка: эмбеддинги токенов и позиций перехватываются каждый своей точкой."},
			{is(n + 1), "это число состояний (строк линзы). Точек перехвата больше: у каждого блока их шесть, и не все они — остаточный поток."},
		},
		general: "ячейка выше печатает точки вне блоков и точки блока 0; у остальных блоков точки те же, с другим номером.",
	}.check(answer)
}

// Task9 checks the position of the one-pass lens (over gen.Sequence without its
// last token) that holds step 0 of the generation (notebook 02): the input's last
// token, PromptLen − 1.
func Task9(answer int, gen *lm.Generation) bool {
	if gen == nil {
		return missing(9, "генерация")
	}
	want := gen.PromptLen - 1
	return task{
		n:     9,
		want:  want,
		right: fmt.Sprintf("Шаг 0 генерации — это последний токен входа, позиция %d; шаг j — позиция %d + j, и столбцы двух линз совпадают.", want, want),
		hints: []hint{
			{is(gen.PromptLen), "это длина входа. Позиции нумеруются с нуля, и последний токен входа стоит на одну позицию раньше."},
			{is(0), "позиция 0 — первый токен входа. А шаг 0 генерации берёт состояние последнего токена входа: модель читает вход целиком и предсказывает, что идёт после него."},
			{is(len(gen.Steps)), "это число шагов генерации (столбцов первой линзы). Нужна позиция прохода, с которой эти столбцы начинаются."},
			{is(len(gen.Sequence) - 1), "это последняя позиция прохода, то есть последний шаг генерации. Нужен шаг 0."},
		},
		general: "шаг 0 генерации — состояние последнего токена входа. На какой позиции прохода по gen.Sequence стоит этот токен, если считать с нуля?",
	}.check(answer)
}

// Task10 checks the number of states of the lens with ResidMid (notebook 03):
// the embeddings, and two per block — after attention and after the block.
func Task10(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(10, "модель")
	}
	n := m.Config.NLayer
	want := 2*n + 1
	return task{
		n:     10,
		want:  want,
		right: fmt.Sprintf("%d %s: «эмбеддинги» и по два у каждого из %d блоков — «после внимания» и выход блока.", want, plural(want, "состояние", "состояния", "состояний"), n),
		hints: []hint{
			{is(n + 1), "это состояния обычной линзы: эмбеддинги и выход каждого блока. С ResidMid у каждого блока есть ещё состояние «после внимания»."},
			{is(2 * n), "не забудьте состояние «эмбеддинги»: оно одно, перед блоком 0."},
			{is(2 * (n + 1)), "у эмбеддингов состояния «после внимания» нет: внимание есть только внутри блоков."},
			{is(n), "это число блоков. Состояний больше: по нескольку на блок и ещё эмбеддинги."},
		},
		general: "посмотрите на подписи строк карты выше: какие состояния есть у каждого блока и какое — одно на всю модель?",
	}.check(answer)
}

// Task11 checks how many parts of the model write into the residual stream
// separately — the rows of the attribution heatmap (notebook 03): the token and
// position embeddings, then attention and MLP of every block.
func Task11(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(11, "модель")
	}
	c := m.Config
	n, emb := c.NLayer, embeddingParts(c)
	want := emb + 2*n
	return task{
		n:     11,
		want:  want,
		right: fmt.Sprintf("%d %s: %d для эмбеддингов и по две (внимание и MLP) у каждого из %d блоков. Вместе со смещением ln_f они складываются в логит.", want, plural(want, "часть", "части", "частей"), emb, n),
		hints: []hint{
			{is(2 * n), "это внимание и MLP всех блоков. Но первыми в остаточный поток пишут эмбеддинги: токена (embed) и позиции (pos_embed) — у каждого своя строка."},
			{is(2*n + 1), "эмбеддингов две строки, а не одна: эмбеддинг токена и эмбеддинг позиции — разные матрицы, wte и wpe."},
			{is(want + 1), "смещение ln_f — не строка карты: его не пишет ни одна часть модели (на столбиках ниже оно стоит отдельно)."},
			{is(n * c.NHead), "это головы внимания. Их вклады сложены в строку внимания своего блока; по головам вклады показывает отдельная карта."},
			{is(n + emb), "у каждого блока в поток пишут две части, а не одна: сначала внимание, потом MLP."},
		},
		general: "прочитайте подписи строк карты атрибуции снизу вверх: что пишет в поток до блока 0 и что — внутри каждого блока?",
	}.check(answer)
}

// Task12 checks the number of translators of the tuned lens (notebook 04): one
// per state except the last, which is the model's output.
func Task12(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(12, "модель")
	}
	n := m.Config.NLayer
	return task{
		n:     12,
		want:  n,
		right: fmt.Sprintf("%d %s: у эмбеддингов и у блоков 0…%d. Последнее состояние — уже выход модели, его линза читает как есть.", n, plural(n, "переводчик", "переводчика", "переводчиков"), n-2),
		hints: []hint{
			{is(n + 1), "это число всех состояний. У последнего переводчика нет: это выход модели после ln_f, его линза читает как есть."},
			{is(n - 1), "у состояния «эмбеддинги» переводчик тоже есть — ему переводить больше всех."},
			{is(m.Config.NEmbd), "это ширина остаточного потока (n_embd) — размер одного переводчика, а не их число."},
		},
		general: "переводчик есть у каждого состояния, кроме последнего. Сколько состояний у модели?",
	}.check(answer)
}

// Task13 checks the number of parameters of all translators together (notebook
// 04): each has a d×d matrix W and a bias b of d.
func Task13(answer int, m *lensnb.Model) bool {
	if m == nil {
		return missing(13, "модель")
	}
	n, d := m.Config.NLayer, m.Config.NEmbd
	per := d*d + d
	want := n * per
	return task{
		n:     13,
		want:  want,
		right: fmt.Sprintf("%d × (%d×%d + %d) = %s %s у всех переводчиков вместе.", n, d, d, d, lm.Thousands(want), plural(want, "параметр", "параметра", "параметров")),
		hints: []hint{
			{is(per), "это параметры одного переводчика. Переводчиков несколько — по одному на каждое состояние, кроме последнего."},
			{is(n * d * d), "не забудьте смещение b: у каждого переводчика это ещё d чисел."},
			{is((n + 1) * per), "у последнего состояния переводчика нет: это уже выход модели."},
			{is((n - 1) * per), "у эмбеддингов переводчик тоже есть."},
			{is(n * d), "W — матрица d × d, а не вектор: у неё d·d чисел."},
		},
		general: "у одного переводчика матрица W размером d × d и вектор b длины d (d — m.Config.NEmbd); умножьте на число переводчиков.",
	}.check(answer)
}

// Crossings says, for a patching sweep, where the effect crosses one half: the
// first block whose patch at the word's position has an effect below 0.5, and
// the first whose patch at the last position has one of at least 0.5 — out of
// how many blocks the model has, so that the line reads the same on any depth.
func Crossings(p *lensnb.Patching, word int) string {
	if p == nil || len(p.Values) == 0 || word < 0 || word >= len(p.Tokens) {
		return "нет результата подмены или такой позиции"
	}
	last := len(p.Tokens) - 1
	first := func(pos int, above bool) string {
		for l := range p.Values {
			if (p.Values[l][pos] >= 0.5) == above {
				return fmt.Sprintf("у блока %d", l)
			}
		}
		return "ни у одного блока"
	}
	n := len(p.Values)
	return fmt.Sprintf("блоков %d (0…%d): на позиции %d (%q) эффект впервые ниже 0.5 %s; на последней позиции (%q) впервые не ниже 0.5 %s",
		n, n-1, word, p.Tokens[word], first(word, false), p.Tokens[last], first(last, true))
}
