package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
)

// tune is `logitlens tune`: train tuned-lens translators for a model on text files.
func tune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logitlens tune", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: logitlens tune --text FILE [--text FILE…] --out DIR [--model REF] [flags]   train tuned-lens translators\n\nflags:\n")
		fs.PrintDefaults()
	}
	modelRef := fs.String("model", "demo", "the model to train translators for")
	out := fs.String("out", "", "folder to write the translators to (also the checkpoint: an interrupted run resumes)")
	steps := fs.Int("steps", 150, "SGD steps")
	rows := fs.Int("rows", 4, "sequences per step")
	seq := fs.Int("seq", 128, "tokens per sequence")
	lr := fs.Float64("lr", 0.25, "peak learning rate (SGD with Nesterov momentum 0.9; linear warm-up and decay)")
	heldOut := fs.Float64("held-out", 0.1, "fraction of the text (its end) kept out of training for the per-layer table")
	offline := fs.Bool("offline", false, "never contact the hub; use the cache only")
	var texts []string
	fs.Func("text", "a UTF-8 text file to train on (repeat for more files)", func(s string) error { texts = append(texts, s); return nil })
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := checkTuneFlags(fs.Args(), *out, texts, *steps, *rows, *seq, *lr, *heldOut); err != nil {
		return usageError{err}
	}
	m, err := loadModel(*modelRef, *offline, stderr)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range texts {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		b.Write(data)
		b.WriteString("\n")
	}
	ids, err := m.Tokenizer.Encode(b.String())
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	cut := len(ids) - int(float64(len(ids))**heldOut)
	train, held := ids[:cut], ids[cut:]
	fmt.Fprintf(stdout, "tune: %s, %d training tokens, %d held out\n", m.Ref, len(train), len(held))
	tl, _, err := lensnb.TrainTunedLens(m, train, lensnb.TuneOptions{Steps: *steps, Rows: *rows, SeqLen: *seq, LR: *lr, Progress: stdout, Checkpoint: *out})
	if err != nil {
		return err
	}
	if err := tl.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tune: wrote %s\n", *out)
	var rowsHeld [][]int
	for at := 0; at+*seq <= len(held) && len(rowsHeld) < 16; at += *seq {
		rowsHeld = append(rowsHeld, held[at:at+*seq])
	}
	if len(rowsHeld) == 0 {
		return nil
	}
	q, err := lensnb.CompareLenses(m, tl, rowsHeld)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nheld-out text (%d×%d tokens): mean KL(final ‖ lens) and perplexity per state\n\n", len(rowsHeld), *seq)
	fmt.Fprintf(stdout, "| state | KL logit | KL tuned | perplexity logit | perplexity tuned |\n|---|---|---|---|---|\n")
	for _, l := range q {
		fmt.Fprintf(stdout, "| %s | %.3f | %.3f | %.1f | %.1f |\n", l.State, l.LogitKL, l.TunedKL, l.LogitPerplexity, l.TunedPerplexity)
	}
	return nil
}

// checkTuneFlags says what is wrong with tune's flags before a model loads.
func checkTuneFlags(rest []string, out string, texts []string, steps, rows, seq int, lr, heldOut float64) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("tune: unexpected argument %q (files go after --text)", rest[0])
	case out == "":
		return errors.New("tune: --out DIR is required (where the translators go)")
	case len(texts) == 0:
		return errors.New("tune: give at least one --text FILE (plain English text; a few hundred KB is plenty)")
	case !(heldOut >= 0 && heldOut < 1):
		return fmt.Errorf("tune: --held-out %g must be in [0, 1)", heldOut)
	case steps < 1 || rows < 1:
		return fmt.Errorf("tune: --steps %d and --rows %d must be at least 1", steps, rows)
	case seq < 2:
		return fmt.Errorf("tune: --seq %d must be at least 2 tokens", seq)
	case !(lr > 0) || math.IsInf(lr, 0):
		return fmt.Errorf("tune: --lr %g must be a positive number (default 0.25)", lr)
	}
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return fmt.Errorf("tune: --out %s is a file: give a folder (it holds translators.safetensors)", out)
	}
	for _, f := range texts {
		st, err := os.Stat(f)
		switch {
		case err != nil:
			return fmt.Errorf("tune: --text %s: %w", f, err)
		case st.IsDir():
			return fmt.Errorf("tune: --text %s is a folder: give text files", f)
		}
	}
	return nil
}
