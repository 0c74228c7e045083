package display

import (
	"html"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// inLanguage runs f with the package language set to l, then restores it.
func inLanguage(t *testing.T, l Language, f func()) {
	t.Helper()
	old := CurrentLanguage()
	SetLanguage(l)
	defer SetLanguage(old)
	f()
}

func TestStateLabel(t *testing.T) {
	cases := []struct{ name, ru string }{
		{"embeddings", "эмбеддинги"},
		{"blocks.0", "блок 0"},
		{"blocks.11", "блок 11"},
		{"blocks.3.resid_mid", "блок 3: после внимания"},
		{"blocks.3.hook_resid_mid", "блок 3: после внимания"},
		{"blocks.3.resid_post", "блок 3: выход"},
		{"blocks.3.attn", "блок 3: внимание"},
		{"blocks.3.mlp", "блок 3: MLP"},
		{"blocks.3.attn.head.7", "блок 3, голова 7"},
		{"embed", "эмбеддинги токенов"},
		{"pos_embed", "эмбеддинги позиций"},
		// Not a state name: left alone, whatever it contains.
		{"blocks.x", "blocks.x"},
		{"blocks.", "blocks."},
		{"blocks.3.attn.head.", "blocks.3.attn.head."},
		{HostileToken, HostileToken},
	}
	for _, c := range cases {
		if got := StateLabelIn(English, c.name); got != c.name {
			t.Errorf("English StateLabel(%q) = %q, want it unchanged", c.name, got)
		}
		if got := StateLabelIn(Russian, c.name); got != c.ru {
			t.Errorf("Russian StateLabel(%q) = %q, want %q", c.name, got, c.ru)
		}
	}
	if CurrentLanguage() != English {
		t.Errorf("the default language is %v", CurrentLanguage())
	}
	inLanguage(t, Language(7), func() {
		if CurrentLanguage() != English {
			t.Errorf("an unknown language gave %v, want English", CurrentLanguage())
		}
	})
}

// everyFragment builds every chart, image and table this package makes, in the
// current language, and returns their HTML (the static SVG as its source).
func everyFragment(t *testing.T) string {
	t.Helper()
	r := SampleResult(4, 6, true, 9)
	gen := SampleResult(4, 5, false, 10)
	gen.Mode = "generate"
	mid := SampleResult(2, 3, false, 11)
	mid.States = []string{"embeddings", "blocks.0.resid_mid", "blocks.0", "blocks.1.resid_mid", "blocks.1"}
	mid.Cells = append(mid.Cells, mid.Cells[1:]...)[:5]
	a := SampleAttribution(3, 2, 4, true, 12)
	p := &lensnb.Patching{Tokens: []string{"Are", " cats", HostileToken}, Hook: "resid_post",
		Metric: "KL share: 1 − KL(corrupted ‖ patched) / KL(corrupted ‖ clean)", Values: [][]float64{{0, 0.2, 0.9}, {0, 0.1, 1}}}
	s := lm.NewSummary(&lm.Config{NLayer: 2, NHead: 2, NEmbd: 8, NPositions: 16, VocabSize: 50}, 4)
	frags := []Fragment{
		Heatmap(r, HeatmapOptions{}), Heatmap(gen, HeatmapOptions{Metric: lensnb.MetricKL}), Heatmap(mid, HeatmapOptions{}),
		Lines(r, LinesOptions{}), TopKTable(r, 4, 1), SummaryTable(s),
		AttributionHeatmap(a, AttributionOptions{}), HeadHeatmap(a, -1, AttributionOptions{}), AttributionBars(a, -1, AttributionOptions{}),
		PatchHeatmap(p, AttributionOptions{}),
	}
	var b strings.Builder
	for _, f := range frags {
		h, err := f.HTML()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(withoutBundle(h))
	}
	plan, err := PlanStatic(r, StaticOptions{}) // the static picture's words
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(html.EscapeString(plan.Title + "\n" + plan.Caption + "\n" + strings.Join(plan.States, "\n")))
	b.WriteString(TextGrid(SampleResult(4, 40, false, 13), TextGridOptions{Width: 80}))
	return b.String()
}

// TestLanguage: with Russian chosen, the words the package adds are Russian; by
// default, and after switching back, they are English; tokens stay escaped.
func TestLanguage(t *testing.T) {
	russian := []string{
		"Логит-линза: вероятность top-1 токена", "строки: состояния (эмбеддинги внизу", "столбцы: шаги генерации",
		"KL до последнего состояния (наты)", "Логит-линза по состояниям", "энтропия (наты)", "ранг итогового top-1 токена",
		`"эмбеддинги"`, `"блок 3"`, `"блок 1: после внимания"`, `"colWord":"позиция"`, `"columnWord":"позиция"`, `"generated":"выбран"`, `"next":"следующий"`, `"logitThere":"логит в этой позиции"`,
		"Карточка модели", "Модуль (тип)", "Всего параметров (по счёту torchinfo)", "вероятность", "позиция 1 · токен",
		"Прямая атрибуция логита: разность логитов", "эмбеддинги позиций", "блок 2: MLP", "голова 1", "смещение ln_f", "= логит",
		"единицы логита", "Подмена активаций: resid_post", "блок 1: выход", "доля эффекта: 1 − KL(испорченный ‖ подменённый)",
		"эффект (0 — как чистый … 1 — как испорченный)", "(позиции ",
	}
	english := []string{
		"Logit lens: probability of the top-1 token", "rows: states (embeddings at the bottom", "columns: generation steps",
		"KL to the final layer (nats)", "Logit lens by layer", "entropy (nats)", "rank of the final top-1 token",
		`"embeddings"`, `"blocks.3"`, `"blocks.1.resid_mid"`, `"colWord":"position"`, `"columnWord":"position"`, `"generated":"generated"`, `"next":"next"`, `"logitThere":"the logit there"`,
		"Model summary", "Layer (type)", "Total params (torchinfo count)", "prob", "position 1 · token",
		"Direct logit attribution: logit difference", "pos_embed", "blocks.2.mlp", "head 1", "ln_f bias", "= logit",
		"logit units", "Activation patching: resid_post", "blocks.1.resid_post", "KL share",
		"effect (0 clean … 1 corrupted)", "(positions ",
	}
	var ru, en, again string
	inLanguage(t, Russian, func() { ru = everyFragment(t) })
	en = everyFragment(t)
	inLanguage(t, English, func() { again = everyFragment(t) })
	for i := range russian {
		if !strings.Contains(ru, russian[i]) {
			t.Errorf("Russian output lacks %q", russian[i])
		}
		if strings.Contains(ru, english[i]) {
			t.Errorf("Russian output still has the English %q", english[i])
		}
		if !strings.Contains(en, english[i]) || !strings.Contains(again, english[i]) {
			t.Errorf("English output lacks %q", english[i])
		}
		if strings.Contains(en, russian[i]) {
			t.Errorf("English output has the Russian %q", russian[i])
		}
	}
	// The safety of token text does not depend on the language.
	for _, bad := range []string{"<img", `onerror="window`, "</title>", "\u2028", "JSON.parse"} {
		if strings.Contains(ru, bad) {
			t.Errorf("Russian output contains %q", bad)
		}
	}
}
