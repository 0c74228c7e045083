package exercises

// Plumbing for notebook 04 (the tuned lens): the corpus split the translators
// train and are measured on, a folder in the notebooks' cache for trained
// translators (a GoNB cell is a new program: later cells load them from there),
// training progress (it runs on the model server) in Russian, the per-state
// comparison of the two lenses as text (display.LensQuality draws it), and
// charts side by side.

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/logitlens-go/logitlens/corpus"
	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// HeldOutEvery is cmd/train's split of the corpus (its -val-every): document i of
// corpus.Load's order is held out when i%HeldOutEvery == HeldOutEvery-1. The demo
// model never trained on those documents, and the translators do not either.
const HeldOutEvery = 20

// TuneText is the corpus text of the tuned lens, split as cmd/train split it.
type TuneText struct {
	// Train is the token stream of the training documents, each followed by
	// <|endoftext|>: what TrainTunedLens draws its windows from.
	Train []int
	// HeldOut are windows of the held-out documents, spread evenly over them:
	// what CompareLenses measures on.
	HeldOut [][]int
	// TrainDocs and HeldOutDocs count the documents of each part.
	TrainDocs, HeldOutDocs int
}

// TuneCorpus tokenises the corpus (package corpus: the State of the Union
// addresses and the Brown corpus) with m's tokenizer, split into training and
// held-out documents, and cuts rows windows of width tokens from the held-out
// part. The tokens are remembered (Remember), so only the first call tokenises.
func TuneCorpus(m *lensnb.Model, rows, width int) (*TuneText, error) {
	if m == nil {
		return nil, fmt.Errorf("корпус: нет модели")
	}
	if rows < 1 || width < 2 {
		return nil, fmt.Errorf("корпус: нужно хотя бы одно окно (rows=%d) не короче двух токенов (width=%d)", rows, width)
	}
	type split struct {
		Train, HeldOut         []int
		TrainDocs, HeldOutDocs int
	}
	s, err := Remember(m, fmt.Sprintf("tune-corpus:%s:every=%d", strings.Join(corpus.Packages, "+"), HeldOutEvery), func() (split, error) {
		root, err := corpus.Dir()
		if err != nil {
			return split{}, err
		}
		docs, err := corpus.Load(root)
		if err != nil {
			return split{}, err
		}
		enc, err := encodeAll(m.Tokenizer, docs)
		if err != nil {
			return split{}, err
		}
		var s split
		for i, ids := range enc {
			if i%HeldOutEvery == HeldOutEvery-1 {
				s.HeldOut = append(s.HeldOut, ids...)
				s.HeldOutDocs++
			} else {
				s.Train = append(s.Train, ids...)
				s.TrainDocs++
			}
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.HeldOut) < rows*width {
		return nil, fmt.Errorf("корпус: в отложенных документах %d токенов, меньше %d окон по %d", len(s.HeldOut), rows, width)
	}
	t := &TuneText{Train: s.Train, TrainDocs: s.TrainDocs, HeldOutDocs: s.HeldOutDocs}
	stride := len(s.HeldOut) / rows
	for i := range rows {
		at := i * stride
		t.HeldOut = append(t.HeldOut, s.HeldOut[at:at+width])
	}
	return t, nil
}

// encodeAll tokenises every document on every core; each is followed by
// <|endoftext|>, as in cmd/train.
func encodeAll(tok *lm.Tokenizer, docs []corpus.Document) ([][]int, error) {
	enc := make([][]int, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids, err := tok.Encode(docs[i].Text)
				enc[i], errs[i] = append(ids, tok.EOS()), err
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("корпус: %s/%s: %w", docs[i].Source, docs[i].Name, err)
		}
	}
	return enc, nil
}

// tuneSettings names what trained translators depend on besides the model.
func tuneSettings(o lensnb.TuneOptions) string {
	return fmt.Sprintf("steps=%d rows=%d seq=%d lr=%g momentum=%g wd=%g clip=%g warmup=%d seed=%d",
		o.Steps, o.Rows, o.SeqLen, o.LR, o.Momentum, o.WeightDecay, o.ClipNorm, o.Warmup, o.Seed)
}

// TunedDir is the folder in the notebooks' cache (CacheDir) for translators
// trained for m with opts: the same model and settings give the same folder, so a
// later cell (or a later session) finds them there. Progress and Checkpoint do not
// count.
func TunedDir(m *lensnb.Model, opts lensnb.TuneOptions) (string, error) {
	path, err := rememberPath(m, "tuned-lens:"+tuneSettings(opts))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(path, ".gob") + ".tuned", nil
}

// TrainedLens loads the translators trained for m with opts from TunedDir. When
// there are none yet, the error says to run the training cell and satisfies
// errors.Is(err, fs.ErrNotExist).
func TrainedLens(m *lensnb.Model, opts lensnb.TuneOptions) (*lensnb.TunedLens, error) {
	dir, err := TunedDir(m, opts)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, lensnb.TranslatorsFile)); err != nil {
		return nil, &notTrained{dir: dir, err: err}
	}
	return lensnb.LoadTunedLens(m, dir)
}

type notTrained struct {
	dir string
	err error
}

func (e *notTrained) Error() string {
	return fmt.Sprintf("переводчики с этими настройками ещё не обучены (в %s их нет): сначала выполните ячейку обучения", e.dir)
}

func (e *notTrained) Unwrap() error { return fs.ErrNotExist }

// TuneProgress returns a receiver for lensnb.TuneOptions.OnProgress that prints
// the training's progress to w in Russian, the states named as in the charts.
func TuneProgress(w io.Writer) func(lensnb.TuneProgress) {
	return func(p lensnb.TuneProgress) { fmt.Fprintln(w, russianProgress(p)) }
}

func russianProgress(p lensnb.TuneProgress) string {
	var kl []string
	for i, v := range p.PerLayer {
		name := "embeddings"
		if i > 0 {
			name = fmt.Sprintf("blocks.%d", i-1)
		}
		kl = append(kl, fmt.Sprintf("%s %.3f", display.StateLabel(name), v))
	}
	return fmt.Sprintf("шаг %d/%d: loss %.4f нат, %.0f токенов/с, осталось ≈%.0f с; KL по состояниям: %s",
		p.Step, p.Steps, p.Loss, p.TokensPerSecond, p.ETA.Seconds(), strings.Join(kl, ", "))
}

// Quality is CompareLenses's table: how close each state of the two lenses is to
// the final distribution on held-out text.
type Quality []lensnb.LayerQuality

// Better counts the intermediate states (all but the last, which both lenses
// read as the model's output) where the tuned lens's KL is below the logit
// lens's, out of n.
func (q Quality) Better() (better, n int) {
	for _, l := range q[:max(0, len(q)-1)] {
		n++
		if l.TunedKL < l.LogitKL {
			better++
		}
	}
	return better, n
}

// String is the table as text, one state a row, with the verdict underneath.
func (q Quality) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %14s %14s %9s %14s %14s\n", "состояние", "KL логит", "KL настроенной", "во сколько", "перплексия", "перплексия")
	fmt.Fprintf(&b, "%-12s %14s %14s %9s %14s %14s\n", "", "(наты)", "(наты)", "раз ниже", "логит", "настроенной")
	for _, l := range q {
		ratio := "—"
		if l.TunedKL > 0 {
			ratio = fmt.Sprintf("%.1f", l.LogitKL/l.TunedKL)
		}
		fmt.Fprintf(&b, "%-12s %14.4f %14.4f %9s %14s %14s\n", display.StateLabel(l.State), l.LogitKL, l.TunedKL, ratio,
			perplexity(l.LogitPerplexity), perplexity(l.TunedPerplexity))
	}
	better, n := q.Better()
	verdict := "не на всех"
	if better == n && n > 0 {
		verdict = "на всех"
	}
	fmt.Fprintf(&b, "KL настроенной линзы ниже, чем у логит-линзы, на %d из %d промежуточных состояний (%s)", better, n, verdict)
	return b.String()
}

// perplexity prints a perplexity; huge ones (the logit lens on the embeddings)
// in powers of ten.
func perplexity(p float64) string {
	switch {
	case math.IsInf(p, 0) || math.IsNaN(p):
		return fmt.Sprint(p)
	case p >= 1e6:
		return fmt.Sprintf("≈10^%.0f", math.Log10(p))
	}
	return strconv.FormatFloat(p, 'f', 1, 64)
}

// SideBySide shows fragments (charts, tables) next to each other, wrapping onto
// the next line when the page is too narrow.
func SideBySide(parts ...display.Fragment) display.Fragment { return sideBySide(parts) }

type sideBySide []display.Fragment

func (s sideBySide) HTML() (string, error) {
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">` + "\n")
	for _, p := range s {
		if p == nil {
			continue
		}
		h, err := p.HTML()
		if err != nil {
			return "", err
		}
		b.WriteString(`<div style="flex:0 1 auto;min-width:0;max-width:100%">` + "\n" + h + "</div>\n")
	}
	b.WriteString("</div>\n")
	return b.String(), nil
}

// HeldOutQuality is lensnb.CompareLenses(m, tl, …) on rows windows of width
// tokens of the held-out documents (TuneCorpus), remembered (Remember) for the
// translators' training settings, so that the table and the chart cells compute
// it once.
func HeldOutQuality(m *lensnb.Model, tl *lensnb.TunedLens, rows, width int) (Quality, error) {
	if tl == nil {
		return nil, fmt.Errorf("сравнение линз: нет переводчиков")
	}
	text, err := TuneCorpus(m, rows, width)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("compare-lenses:%s:step=%s:%d×%d", tl.Trained["settings"], tl.Trained["step"], rows, width)
	q, err := Remember(m, key, func() ([]lensnb.LayerQuality, error) {
		return lensnb.CompareLenses(m, tl, text.HeldOut)
	})
	return Quality(q), err
}
