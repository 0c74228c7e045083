package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/logitlens-go/logitlens/lensnb"
)

// tune is `logitlens tune`: train tuned-lens translators for a model on text files.
func tune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logitlens tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("tune: unexpected argument %q (files go after --text)", fs.Arg(0))
	case *out == "":
		return errors.New("tune: --out DIR is required (where the translators go)")
	case len(texts) == 0:
		return errors.New("tune: give at least one --text FILE (plain English text; a few hundred KB is plenty)")
	case !(*heldOut >= 0 && *heldOut < 1):
		return fmt.Errorf("tune: --held-out %g must be in [0, 1)", *heldOut)
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
