package exercises

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/corpus"
	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
)

func TestTuneProgress(t *testing.T) {
	display.SetLanguage(display.Russian)
	defer display.SetLanguage(display.English)
	var buf bytes.Buffer
	TuneProgress(&buf)(lensnb.TuneProgress{Step: 10, Steps: 40, Loss: 3.45631, PerLayer: []float64{2.5512, 0.3941}, TokensPerSecond: 125.2, ETA: 57 * time.Second})
	want := "шаг 10/40: loss 3.4563 нат, 125 токенов/с, осталось ≈57 с; KL по состояниям: эмбеддинги 2.551, блок 0 0.394\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}

	// Training on the model server reports its progress as events, in Russian here.
	m, _ := tiny(t)
	ids, err := m.Tokenizer.Encode(strings.Repeat("The cat sat on the mat. Are cats good? ", 20))
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if _, _, err := lensnb.TrainTunedLens(m, ids, lensnb.TuneOptions{Steps: 10, Rows: 2, SeqLen: 16, OnProgress: TuneProgress(&buf)}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.HasPrefix(out, "шаг 10/10: loss ") || !strings.Contains(out, "эмбеддинги ") || strings.Contains(out, "tune:") {
		t.Errorf("the server's progress was not reported: %q", out)
	}
}

func TestTrainedLens(t *testing.T) {
	m, _ := tiny(t) // through the resident server, as in a notebook
	opts := lensnb.TuneOptions{Steps: 5, Rows: 2, SeqLen: 16}
	if _, err := TrainedLens(m, opts); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "ячейку обучения") {
		t.Fatalf("no translators yet: got %v", err)
	}
	dir, err := TunedDir(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	withProgress := opts
	withProgress.Progress = os.Stderr
	other := opts
	other.Steps = 6
	if d, _ := TunedDir(m, withProgress); d != dir {
		t.Errorf("Progress changed the folder: %s, %s", d, dir)
	}
	if d, _ := TunedDir(m, other); d == dir {
		t.Error("other settings share the folder")
	}
	ids, _ := m.Tokenizer.Encode(strings.Repeat("Are cats good? Cats are good. ", 20))
	tl, _, err := lensnb.TrainTunedLens(m, ids, opts) // on the model server
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := TrainedLens(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := lensnb.Prompt(m, Prompt, lensnb.Options{Tuned: back})
	if err != nil || r.Lens != "tuned" {
		t.Fatalf("reading with the loaded translators: %v (lens %q)", err, r.Lens)
	}
}

func TestQuality(t *testing.T) {
	display.SetLanguage(display.Russian)
	defer display.SetLanguage(display.English)
	q := Quality{
		{State: "embeddings", LogitKL: 17, TunedKL: 1.2, LogitPerplexity: 1.5e10, TunedPerplexity: 1800},
		{State: "blocks.0", LogitKL: 0.8, TunedKL: 0.1, LogitPerplexity: 990, TunedPerplexity: 495},
		{State: "blocks.1", LogitKL: 0, TunedKL: 0, LogitPerplexity: 447, TunedPerplexity: 447},
	}
	if b, n := q.Better(); b != 2 || n != 2 {
		t.Errorf("Better = %d of %d, want 2 of 2", b, n)
	}
	s := q.String()
	for _, want := range []string{"эмбеддинги", "≈10^10", "14.2", "блок 1", "на 2 из 2 промежуточных состояний (на всех)"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in\n%s", want, s)
		}
	}
	q[1].TunedKL = 0.9
	if s := q.String(); !strings.Contains(s, "на 1 из 2 промежуточных состояний (не на всех)") {
		t.Errorf("a worse state: %s", s)
	}
	c := display.LensQuality(q, display.SeriesOptions{Log: true}) // Quality is the lens's own table
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	h, err := SideBySide(c, nil, &display.Table{Caption: "таблица"}).HTML()
	if err != nil || !strings.Contains(h, "flex-wrap") || !strings.Contains(h, "logitlens-chart") || !strings.Contains(h, "таблица") {
		t.Errorf("SideBySide: %v\n%.300s", err, h)
	}
}

func TestTuneCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("tokenises the whole corpus")
	}
	root, err := corpus.Dir()
	if err == nil {
		_, err = corpus.Load(root)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	docs, _ := corpus.Load(root)
	m, _ := tiny(t)
	text, err := TuneCorpus(m, 4, 32)
	if err != nil {
		t.Fatal(err)
	}
	if text.HeldOutDocs != len(docs)/HeldOutEvery || text.TrainDocs+text.HeldOutDocs != len(docs) || len(text.Train) < 1000 {
		t.Errorf("split: %d training and %d held-out documents of %d, %d training tokens", text.TrainDocs, text.HeldOutDocs, len(docs), len(text.Train))
	}
	if len(text.HeldOut) != 4 || len(text.HeldOut[3]) != 32 {
		t.Errorf("held-out windows: %d", len(text.HeldOut))
	}
	identity, err := lensnb.NewTunedLens(m)
	if err != nil {
		t.Fatal(err)
	}
	identity.Trained = map[string]string{"settings": "identity", "step": "0"}
	q, err := HeldOutQuality(m, identity, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != m.Config.NLayer+1 {
		t.Fatalf("%d states", len(q))
	}
	for _, l := range q {
		if l.LogitKL != l.TunedKL || l.LogitPerplexity != l.TunedPerplexity {
			t.Errorf("identity translators differ from the logit lens at %s: %+v", l.State, l)
		}
	}
}
