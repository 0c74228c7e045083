// Command logitlens runs the logit lens on GPT-2 from the shell: it prints what every
// layer predicts at every position (or for every generated token) and writes JSON,
// CSV and an interactive HTML heatmap.
//
//	go run ./cmd/logitlens --model gpt2 --prompt "Are cats good?"
//	go run ./cmd/logitlens --model gpt2 --prompt "Are cats good?" --generate 10 --final-norm=false
//	go run ./cmd/logitlens --model ./my-gpt2-folder --prompt "..." --json out.json --csv out.csv --html out.html
//	go run ./cmd/logitlens --model demo --prompt "..."     # the shipped small GPT-2, no download
//	go run ./cmd/logitlens serve --model demo                # the lens explorer on http://127.0.0.1:8080/
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/internal/atomicfile"
	"github.com/logitlens-go/logitlens/lensnb"
)

func main() {
	os.Exit(mainCode(os.Args[1:], os.Stdout, os.Stderr))
}

// mainCode runs the command and returns its exit status: 0 (also for --help), 2
// for a command line that does not parse, 1 for any other error (printed).
func mainCode(args []string, stdout, stderr io.Writer) int {
	err := run(args, stdout, stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "logitlens:", err)
	}
	return exitCode(err)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "serve" {
		return serve(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "tune" {
		return tune(args[1:], stdout, stderr)
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return usageError{fmt.Errorf("unknown command %q: run the lens with flags (logitlens --model demo --prompt \"Are cats good?\"), or use logitlens serve or logitlens tune; see logitlens --help", args[0])}
	}
	fs := flag.NewFlagSet("logitlens", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: logitlens --prompt TEXT [--model REF] [flags]   the logit lens of a prompt (or of a generation)
       logitlens serve [flags]                          the lens explorer in the browser
       logitlens tune --text FILE --out DIR [flags]     train tuned-lens translators
(logitlens serve --help and logitlens tune --help list their flags)

flags:
`)
		fs.PrintDefaults()
	}
	modelRef := fs.String("model", "gpt2", `hub id (gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2, org/name[@revision]), a local folder, "demo" (a small GPT-2 trained on public-domain text, shipped with the repository: no download), or random weights: "tiny", "random", "small"`)
	prompt := fs.String("prompt", "", "the text to run the lens on")
	generate := fs.Int("generate", 0, "generate N tokens greedily and lens every generated token (the course's Part 1) instead of the prompt positions")
	finalNorm := fs.Bool("final-norm", true, "apply ln_f to intermediate states before lm_head (false: project raw states, as the course's Part 1)")
	topk := fs.Int("topk", 5, "top-k tokens kept per cell")
	target := fs.String("target", "", "also report the probability and rank of this token (its text, e.g. \" cat\", or #id)")
	residMid := fs.Bool("resid-mid", false, "also lens the residual stream after attention (prompt lens only)")
	layers := fs.String("layers", "", "comma-separated blocks to show (default all; the last is always shown)")
	stride := fs.Int("stride", 0, "show every Nth block")
	jsonPath := fs.String("json", "", "write the lens as JSON to this file")
	csvPath := fs.String("csv", "", "write the lens as CSV to this file")
	htmlPath := fs.String("html", "", "write an interactive heatmap (standalone HTML) to this file")
	attribute := fs.String("attribute", "", "also attribute this token's logit (its text, e.g. \" Paris\") to the embeddings, every block's attention and MLP, and every head (direct logit attribution; prompt only)")
	versus := fs.String("versus", "", "with --attribute: attribute the logit difference against this token (e.g. \" Rome\")")
	lens := fs.String("lens", "logit", "logit (the logit lens) or tuned (the tuned lens: each state through its trained translator; needs --translators)")
	translators := fs.String("translators", "", "with --lens tuned: the folder `logitlens tune` wrote")
	offline := fs.Bool("offline", false, "never contact the hub; use the cache only")
	quiet := fs.Bool("quiet", false, "do not print the table")
	width := fs.Int("width", 0, "fit the printed tables to this many columns (default: $COLUMNS, else the terminal's width, else 120)")
	if err := parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	if err := checkLensFlags(fs, *prompt, *generate, *topk, *stride, *width); err != nil {
		return err
	}
	for _, o := range []struct{ flag, path, example string }{{"json", *jsonPath, "lens.json"}, {"csv", *csvPath, "lens.csv"}, {"html", *htmlPath, "lens.html"}} {
		if err := checkOutput(o.flag, o.path, o.example); err != nil {
			return err
		}
	}
	if *versus != "" && *attribute == "" {
		return usageError{errors.New(`--versus needs --attribute, e.g. --attribute " Paris" --versus " Rome"`)}
	}
	switch {
	case *lens != "logit" && *lens != "tuned":
		return usageError{fmt.Errorf("--lens %q: use logit or tuned", *lens)}
	case *lens == "tuned" && *translators == "":
		return usageError{errors.New("--lens tuned needs --translators DIR (train them with: logitlens tune --model M --text FILE --out DIR)")}
	case *lens == "logit" && *translators != "":
		return usageError{errors.New("--translators is for --lens tuned")}
	case *lens == "tuned" && !*finalNorm:
		return usageError{errors.New("--lens tuned reads through ln_f: drop --final-norm=false")}
	}
	if *attribute != "" && *generate > 0 {
		return usageError{errors.New("--attribute works on the prompt's positions: drop --generate (or run the generated text as a prompt)")}
	}
	if *translators != "" {
		if _, err := os.Stat(*translators); err != nil {
			return usageError{fmt.Errorf("--translators %s: %w (train translators with: logitlens tune --model M --text FILE --out DIR)", *translators, err)}
		}
	}
	m, err := loadModel(*modelRef, *offline, stderr)
	if err != nil {
		return err
	}
	opts := lensnb.Options{NoFinalNorm: !*finalNorm, TopK: *topk, ResidMid: *residMid, Stride: *stride}
	if *lens == "tuned" {
		if opts.Tuned, err = lensnb.LoadTunedLens(m, *translators); err != nil {
			return err
		}
	}
	if *layers != "" {
		for _, f := range strings.Split(*layers, ",") {
			l, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--layers: %q is not a block number", f)
			}
			opts.Layers = append(opts.Layers, l)
		}
	}
	if *target != "" {
		id, err := targetID(m, *target)
		if err != nil {
			return err
		}
		opts.Target = lensnb.TokenID(id)
	}
	if *generate > 0 {
		if n, err := m.Tokenizer.Encode(*prompt); err == nil && len(n)+*generate > m.Config.NPositions {
			return usageError{fmt.Errorf("--generate %d: the prompt (%d tokens) and the generated tokens must fit the model's context of %d tokens: give at most --generate %d",
				*generate, len(n), m.Config.NPositions, max(0, m.Config.NPositions-len(n)))}
		}
	}
	var r *lensnb.Result
	if *generate > 0 {
		r, err = lensnb.Generate(m, *prompt, *generate, opts)
	} else {
		r, err = lensnb.Prompt(m, *prompt, opts)
	}
	if err != nil {
		return err
	}
	r.Model = *modelRef
	switch {
	case lensnb.IsRandom(m):
		r.Model = m.Ref + " — predictions are meaningless"
	case lensnb.IsDemo(m):
		r.Model = m.Ref
	}
	if *attribute != "" {
		targets := []string{*attribute}
		if *versus != "" {
			targets = append(targets, *versus)
		}
		a, err := lensnb.Attribute(m, *prompt, targets...)
		if err != nil {
			return fmt.Errorf("--attribute: %w", err)
		}
		a.Model = r.Model
		r.Attribution = a
	}
	if !*quiet {
		tw := terminalWidth(*width, stdout)
		printTable(stdout, r, tw)
		if r.Attribution != nil {
			printAttribution(stdout, r.Attribution, tw)
		}
	}
	if err := writeFile(*jsonPath, r.WriteJSON); err != nil {
		return err
	}
	if err := writeFile(*csvPath, r.WriteCSV); err != nil {
		return err
	}
	attributionCSV := ""
	if *csvPath != "" && r.Attribution != nil {
		attributionCSV = strings.TrimSuffix(*csvPath, filepath.Ext(*csvPath)) + ".attribution.csv"
		if err := writeFile(attributionCSV, r.Attribution.WriteCSV); err != nil {
			return err
		}
	}
	if err := writeFile(*htmlPath, func(w io.Writer) error { return writeHTML(w, r) }); err != nil {
		return err
	}
	for _, p := range []string{*jsonPath, *csvPath, attributionCSV, *htmlPath} {
		if p != "" {
			fmt.Fprintln(stderr, "wrote", p)
		}
	}
	return nil
}

// checkLensFlags says what is wrong with the lens's flags before a model loads.
func checkLensFlags(fs *flag.FlagSet, prompt string, generate, topk, stride, width int) error {
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q (flags go before values: --prompt \"text\")", fs.Arg(0))}
	case prompt == "":
		return usageError{errors.New(`--prompt is required, e.g. --prompt "Are cats good?"`)}
	case generate < 0:
		return usageError{fmt.Errorf("--generate %d must be positive (the number of tokens to generate)", generate)}
	case generate > maxGenerate:
		return usageError{fmt.Errorf("--generate %d is more than GPT-2's context holds: give at most %d", generate, maxGenerate)}
	case topk < 1 || topk > 64:
		return usageError{fmt.Errorf("--topk %d: give between 1 and 64 tokens per cell", topk)}
	case stride < 0:
		return usageError{fmt.Errorf("--stride %d must be positive (show every Nth block)", stride)}
	case width < 0:
		return usageError{fmt.Errorf("--width %d must be positive (columns of the printed table)", width)}
	}
	return nil
}

// maxGenerate bounds --generate before a model is loaded: no GPT-2 has a longer
// context (the model's own n_positions is checked when it runs).
const maxGenerate = 1024

func loadModel(ref string, offline bool, stderr io.Writer) (*lensnb.Model, error) {
	if _, random := lensnb.RandomModels[ref]; random {
		fmt.Fprintf(stderr, "logitlens: %s: RANDOM WEIGHTS with GPT-2's tokenizer; its predictions are noise. Use --model gpt2 for the real model.\n", strings.ToUpper(ref))
	}
	return engine.LoadModel(ref, lensnb.LoadModelOptions{Progress: stderr, Offline: offline})
}

func targetID(m *lensnb.Model, s string) (int, error) {
	if strings.HasPrefix(s, "#") {
		id, err := strconv.Atoi(s[1:])
		if err != nil || id < 0 || id >= m.Config.VocabSize {
			return 0, fmt.Errorf("--target %s: not a token id in [0,%d)", s, m.Config.VocabSize)
		}
		return id, nil
	}
	ids, err := m.Tokenizer.Encode(s)
	if err != nil {
		return 0, fmt.Errorf("--target: %w", err)
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("--target %q is %d tokens, not one; give a single token (mind the leading space, e.g. \" cat\") or #id", s, len(ids))
	}
	return ids[0], nil
}

// writeFile writes path atomically with write; "" does nothing.
func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	return atomicfile.Write(path, write)
}

// printTable prints the model line and the lens as a text grid fitted to width
// (display.TextGrid: top-1 token and probability per cell, probabilities never
// cut). JSON and CSV keep every token whole.
func printTable(w io.Writer, r *lensnb.Result, width int) {
	fmt.Fprintf(w, "model: %s   backend: %s   mode: %s   final_norm: %t\n", r.Model, r.Backend, r.Mode, r.FinalNorm)
	o := display.TextGridOptions{Width: width, Probs: true}
	if r.Mode == "prompt" {
		o.NextRow = "actual next"
	}
	fmt.Fprint(w, display.TextGrid(r, o))
}

// terminalWidth is the width to fit tables to: --width if given, else $COLUMNS,
// else the terminal's width when stdout is one, else 120.
func terminalWidth(flagWidth int, stdout io.Writer) int {
	if flagWidth > 0 {
		return flagWidth
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := stdout.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 120
}

// visible makes whitespace and invisible characters of token text visible in a
// terminal table (display.VisibleToken).
func visible(s string) string { return display.VisibleToken(s) }

// printAttribution prints the direct logit attribution as text tables fitted to
// width: every component (last block on top) × position, then the heads at the
// last position. Numbers are never cut.
func printAttribution(w io.Writer, a *lensnb.Attribution, width int) {
	what := "logit of " + visible(a.TokenText)
	if a.Versus >= 0 {
		what = fmt.Sprintf("logit difference %s − %s", visible(a.TokenText), visible(a.VersusText))
	}
	fmt.Fprintf(w, "\ndirect logit attribution: %s (ln_f's scale frozen at each position)\n", what)
	rows := [][]float64{a.Logit, a.Bias}
	t := display.TextTable{Width: width, Rows: []string{"= logit", "ln_f bias"}}
	for c := len(a.Components) - 1; c >= 0; c-- {
		t.Rows, rows = append(t.Rows, a.Components[c]), append(rows, a.Direct[c])
	}
	for _, tok := range a.Tokens {
		t.Columns = append(t.Columns, visible(tok))
	}
	t.Cell = func(row, col int) (string, string) { return "", fmt.Sprintf("%+.2f", rows[row][col]) }
	fmt.Fprint(w, t)

	last := len(a.InputIDs) - 1
	fmt.Fprintf(w, "\nheads at position %d (%s):\n", last, visible(a.Tokens[last]))
	heads := display.TextTable{Width: width}
	for h := range a.Heads[0] {
		heads.Columns = append(heads.Columns, fmt.Sprintf("head %d", h))
	}
	heads.Columns = append(heads.Columns, "c_proj bias")
	for i := len(a.Heads) - 1; i >= 0; i-- {
		heads.Rows = append(heads.Rows, fmt.Sprintf("blocks.%d", i))
	}
	heads.Cell = func(row, col int) (string, string) {
		i := len(a.Heads) - 1 - row
		if col == len(a.Heads[i]) {
			return "", fmt.Sprintf("%+.2f", a.HeadBias[i][last])
		}
		return "", fmt.Sprintf("%+.2f", a.Heads[i][col][last])
	}
	fmt.Fprint(w, heads)
}
