package demo_test

// Behavioural tests of the shipped demo model: they check that it is a language
// model whose layers make the logit lens (and the tuned lens) show what they show
// on GPT-2 — each one can fail on a model that was not trained, or trained badly.

import (
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/corpus"
	"github.com/logitlens-go/logitlens/demo"
	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// valEvery is cmd/train's default split: every 20th document is validation text.
const valEvery = 20

var (
	once   sync.Once
	model  *lensnb.Model
	val    []int // validation tokens
	words  map[string]bool
	setErr error
)

func setup(t *testing.T) (*lensnb.Model, []int) {
	t.Helper()
	once.Do(func() {
		model, setErr = engine.LoadModel(lensnb.DemoModel, lensnb.LoadModelOptions{})
		if setErr != nil {
			return
		}
		var root string
		if root, setErr = corpus.Dir(); setErr != nil {
			return
		}
		var docs []corpus.Document
		if docs, setErr = corpus.Load(root); setErr != nil {
			return
		}
		words = map[string]bool{}
		for i, d := range docs {
			if i%valEvery != valEvery-1 {
				for _, w := range wordRE.FindAllString(strings.ToLower(d.Text), -1) {
					words[w] = true
				}
				continue
			}
			ids, err := model.Tokenizer.Encode(d.Text)
			if err != nil {
				setErr = err
				return
			}
			val = append(append(val, ids...), model.Tokenizer.EOS())
		}
	})
	if setErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(setErr)
		}
		t.Skip(setErr)
	}
	return model, val
}

var wordRE = regexp.MustCompile(`[a-z]+`)

func windows(ids []int, width, n int) [][]int {
	var rows [][]int
	for at := 0; at+width <= len(ids) && len(rows) < n; at += width * 7 { // spread over the split
		rows = append(rows, ids[at:at+width])
	}
	return rows
}

func TestDemoIsLabelledAndLoadsOffline(t *testing.T) {
	m, _ := setup(t)
	if !strings.Contains(m.Ref, demo.Label) || lensnb.IsRandom(m) || !lensnb.IsDemo(m) {
		t.Errorf("the demo model's Ref %q must say what it is", m.Ref)
	}
	info, err := os.Stat(m.Dir + "/model.safetensors")
	if err != nil || info.Size() > 30<<20 {
		t.Errorf("model.safetensors: %v, %d bytes (the repository ships at most 30 MB)", err, info.Size())
	}
}

func TestDemoBeatsTheUnigramBaseline(t *testing.T) {
	m, ids := setup(t)
	rows := windows(ids, m.Config.NPositions+1, 24)
	var ce float64
	for i := 0; i < len(rows); i += 4 {
		l, err := m.Loss(rows[i:min(i+4, len(rows))])
		if err != nil {
			t.Fatal(err)
		}
		ce += l * float64(min(4, len(rows)-i))
	}
	ce /= float64(len(rows))
	// The best any unigram model can do on this text: its own token distribution's entropy.
	counts := map[int]float64{}
	for _, id := range ids {
		counts[id]++
	}
	var unigram float64
	for _, c := range counts {
		p := c / float64(len(ids))
		unigram -= p * math.Log(p)
	}
	t.Logf("validation cross-entropy %.3f nats (perplexity %.0f); unigram entropy of the same text %.3f", ce, math.Exp(ce), unigram)
	if ce > unigram-1 {
		t.Errorf("validation cross-entropy %.3f is not clearly below the unigram baseline %.3f", ce, unigram)
	}
}

func TestDemoLensConvergesLayerByLayer(t *testing.T) {
	m, ids := setup(t)
	rows := windows(ids, 64, 8)
	res, err := lensnb.PromptBatch(m, rows, lensnb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	states := res[0].States
	kl := make([]float64, len(states))
	self, cells := 0, 0
	for _, r := range res {
		for s, row := range r.Cells {
			for _, c := range row {
				kl[s] += c.KLToFinal / float64(len(row)*len(res))
			}
		}
		for c, cell := range r.Cells[0] { // the embeddings row
			cells++
			if cell.Top[0].ID == r.InputIDs[c] {
				self++
			}
		}
	}
	t.Logf("mean KL(final ‖ state) with ln_f: %v", kl)
	for s := 1; s < len(kl); s++ {
		if !(kl[s] < kl[s-1]) {
			t.Errorf("KL to the final layer does not decrease from %s (%.3f) to %s (%.3f)", states[s-1], kl[s-1], states[s], kl[s])
		}
	}
	// Tied embeddings make the input token's own row the commonest reading of the
	// embeddings state — measured: top-1 at 48% of positions, in the top 5 at 55%
	// (of a 50,257-token vocabulary). Not "mostly": training pulls rare tokens'
	// rows together, and there the embeddings read as another token.
	inTop5 := 0
	for _, r := range res {
		for c, cell := range r.Cells[0] {
			for _, tp := range cell.Top {
				if tp.ID == r.InputIDs[c] {
					inTop5++
				}
			}
		}
	}
	top1, top5 := float64(self)/float64(cells), float64(inTop5)/float64(cells)
	t.Logf("the embeddings row names the input token itself: top-1 at %.0f%% of positions, in the top 5 at %.0f%%", 100*top1, 100*top5)
	if top1 < 0.4 {
		t.Errorf("the embeddings row decodes to the input token itself at %.0f%% (top-1) / %.0f%% (top-5) of positions; tied embeddings should make it the main reading", 100*top1, 100*top5)
	}
}

func TestDemoContinuesInEnglish(t *testing.T) {
	m, _ := setup(t)
	for _, p := range []string{"The United States", "The President said that", "In the year", "Are cats good?"} {
		ids, _ := m.Tokenizer.Encode(p)
		gen, err := m.Generate(ids, lm.GenerateOptions{MaxNewTokens: 12, NoHiddenStates: true})
		if err != nil {
			t.Fatal(err)
		}
		text := m.Tokenizer.Decode(gen.Generated())
		distinct := map[int]bool{}
		for _, id := range gen.Generated() {
			distinct[id] = true
		}
		ws := wordRE.FindAllString(strings.ToLower(text), -1)
		known := 0
		for _, w := range ws {
			if words[w] {
				known++
			}
		}
		t.Logf("%q → %q", p, text)
		if len(distinct) < 4 || len(ws) < 3 || float64(known) < 0.8*float64(len(ws)) {
			t.Errorf("%q continues as %q: want varied English words (%d distinct tokens, %d of %d words known)", p, text, len(distinct), known, len(ws))
		}
	}
}

// TestDemoTunedLensBeatsTheLogitLens is the tuned-lens paper's headline result on
// the demo model: translators trained for a few minutes on training text bring
// every intermediate state closer to the final distribution on held-out text.
func TestDemoTunedLensBeatsTheLogitLens(t *testing.T) {
	if testing.Short() {
		t.Skip("trains translators")
	}
	m, held := setup(t)
	root, _ := corpus.Dir()
	sotu, err := corpus.SOTU(root)
	if err != nil {
		t.Fatal(err)
	}
	var train []int
	for i, d := range sotu[:60] {
		if i%valEvery == valEvery-1 {
			continue
		}
		ids, _ := m.Tokenizer.Encode(d.Text)
		train = append(train, ids...)
	}
	tl, _, err := lensnb.TrainTunedLens(m, train, lensnb.TuneOptions{Steps: 60, Rows: 4, SeqLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	q, err := lensnb.CompareLenses(m, tl, windows(held, 64, 8))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range q[:len(q)-1] {
		t.Logf("%-11s KL logit %.3f tuned %.3f · perplexity logit %.0f tuned %.0f", l.State, l.LogitKL, l.TunedKL, l.LogitPerplexity, l.TunedPerplexity)
		if !(l.TunedKL < l.LogitKL) {
			t.Errorf("%s: the tuned lens's KL %.3f is not below the logit lens's %.3f", l.State, l.TunedKL, l.LogitKL)
		}
	}
}
