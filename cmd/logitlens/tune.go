package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/lensnb"
)

// tuneFlags are the flags of `logitlens tune`.
type tuneFlags struct {
	modelRef, out    string
	texts            []string
	steps, rows, seq int
	lr, heldOut      float64
	offline          bool
}

// newTuneFlags defines tune's flags on fs.
func newTuneFlags(fs *flag.FlagSet) *tuneFlags {
	f := &tuneFlags{}
	fs.StringVar(&f.modelRef, "model", "demo", "the model to train translators for")
	fs.StringVar(&f.out, "out", "", "folder to write the translators to (also the checkpoint: an interrupted run resumes)")
	fs.IntVar(&f.steps, "steps", 150, "SGD steps")
	fs.IntVar(&f.rows, "rows", 4, "sequences per step")
	fs.IntVar(&f.seq, "seq", 128, "tokens per sequence (at most the model's context)")
	fs.Float64Var(&f.lr, "lr", 0.25, "peak learning rate (SGD with Nesterov momentum 0.9; linear warm-up and decay)")
	fs.Float64Var(&f.heldOut, "held-out", 0.1, "fraction of the text (its end) kept out of training for the per-layer table")
	fs.BoolVar(&f.offline, "offline", false, "never contact the hub; use the cache only")
	fs.Func("text", "a UTF-8 text file to train on (repeat for more files)", func(s string) error { f.texts = append(f.texts, s); return nil })
	return f
}

// tune is `logitlens tune`: train tuned-lens translators for a model on text files.
func tune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logitlens tune", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: logitlens tune --text FILE [--text FILE…] --out DIR [--model REF] [flags]   train tuned-lens translators\n\nflags:\n")
		fs.PrintDefaults()
	}
	f := newTuneFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("tune: unexpected argument %q: give each file with its own --text (--text a.txt --text b.txt)", fs.Arg(0))}
	}
	text, err := f.check()
	if err != nil {
		return err
	}
	m, err := loadModel(f.modelRef, f.offline, stderr)
	if err != nil {
		return err
	}
	if err := checkSeq(f.seq, m.Config.NPositions); err != nil {
		return err
	}
	ids, err := m.Tokenizer.Encode(text)
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	cut := len(ids) - int(float64(len(ids))*f.heldOut)
	train, held := ids[:cut], ids[cut:]
	if len(train) <= f.seq {
		return usageError{fmt.Errorf("tune: the training text has %d tokens (after --held-out %g); --seq %d needs at least %d: give more text, or a smaller --seq",
			len(train), f.heldOut, f.seq, f.seq+1)}
	}
	fmt.Fprintf(stdout, "tune: %s, %d training tokens, %d held out\n", m.Ref, len(train), len(held))
	tl, _, err := lensnb.TrainTunedLens(m, train, lensnb.TuneOptions{Steps: f.steps, Rows: f.rows, SeqLen: f.seq, LR: f.lr, Progress: stdout, Checkpoint: f.out})
	if err != nil {
		return err
	}
	if err := tl.Save(f.out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tune: wrote %s\n", f.out)
	return printHeldOut(stdout, m, tl, held, f.seq)
}

// printHeldOut prints how well the logit lens and the tuned lens read each state
// on the held-out text (up to 16 sequences); nothing when there is too little.
func printHeldOut(stdout io.Writer, m *lensnb.Model, tl *lensnb.TunedLens, held []int, seq int) error {
	var rows [][]int
	for at := 0; at+seq <= len(held) && len(rows) < 16; at += seq {
		rows = append(rows, held[at:at+seq])
	}
	if len(rows) == 0 {
		return nil
	}
	q, err := lensnb.CompareLenses(m, tl, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nheld-out text (%d×%d tokens): mean KL(final ‖ lens) and perplexity per state\n\n", len(rows), seq)
	fmt.Fprintf(stdout, "| state | KL logit | KL tuned | perplexity logit | perplexity tuned |\n|---|---|---|---|---|\n")
	for _, l := range q {
		fmt.Fprintf(stdout, "| %s | %.3f | %.3f | %.1f | %.1f |\n", l.State, l.LogitKL, l.TunedKL, l.LogitPerplexity, l.TunedPerplexity)
	}
	return nil
}

// check says what is wrong with tune's flags before a model loads (the model
// reference included, and --seq against its context when its config is here),
// and returns the text of the --text files.
func (f *tuneFlags) check() (string, error) {
	if err := f.checkNumbers(); err != nil {
		return "", usageError{err}
	}
	if err := checkOutputFolder("out", f.out); err != nil {
		return "", usageError{fmt.Errorf("tune: %w", err)}
	}
	text, err := readTexts(f.texts)
	if err != nil {
		return "", usageError{err}
	}
	cfg, err := checkModel(f.modelRef)
	if err != nil {
		return "", fmt.Errorf("tune: %w", err)
	}
	if cfg == nil {
		return text, nil
	}
	return text, checkSeq(f.seq, cfg.NPositions)
}

// checkNumbers checks that the flags tune needs are there and that its numbers
// are in range.
func (f *tuneFlags) checkNumbers() error {
	switch {
	case f.out == "":
		return errors.New("tune: --out DIR is required (where the translators go)")
	case len(f.texts) == 0:
		return errors.New("tune: give at least one --text FILE (plain English text; a few hundred KB is plenty)")
	case !(f.heldOut >= 0 && f.heldOut < 1):
		return fmt.Errorf("tune: --held-out %g must be in [0, 1)", f.heldOut)
	case f.steps < 1:
		return fmt.Errorf("tune: --steps %d must be at least 1 (default 150)", f.steps)
	case f.rows < 1:
		return fmt.Errorf("tune: --rows %d must be at least 1 (default 4)", f.rows)
	case f.seq < 2:
		return fmt.Errorf("tune: --seq %d must be at least 2 tokens (default 128)", f.seq)
	case !(f.lr > 0) || math.IsInf(f.lr, 0):
		return fmt.Errorf("tune: --lr %g must be a positive number (default 0.25)", f.lr)
	}
	return nil
}

// checkSeq checks --seq against the model's context.
func checkSeq(seq, context int) error {
	if seq > context {
		return usageError{fmt.Errorf("tune: --seq %d is longer than the model's context of %d tokens: give at most --seq %d", seq, context, context)}
	}
	return nil
}

// readTexts reads the --text files, one after another with a newline between,
// and says which is missing, a folder, not UTF-8 text, or empty.
func readTexts(files []string) (string, error) {
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if st, serr := os.Stat(f); serr == nil && st.IsDir() {
				return "", fmt.Errorf("tune: --text %s is a folder: give text files", f)
			}
			return "", fmt.Errorf("tune: --text %s: %w", f, cause(err))
		}
		if !utf8.Valid(data) {
			return "", fmt.Errorf("tune: --text %s is not UTF-8 text: give plain text files", f)
		}
		if strings.TrimSpace(string(data)) == "" {
			return "", fmt.Errorf("tune: --text %s is empty: give a file with text to train on", f)
		}
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String(), nil
}
