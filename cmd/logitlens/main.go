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
// for a command line that does not parse or cannot run as given, 1 for any other
// error (printed).
func mainCode(args []string, stdout, stderr io.Writer) int {
	err := run(args, stdout, stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "logitlens:", err)
	}
	return exitCode(err)
}

// run runs the command line: a subcommand (serve, tune, help) or the lens.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(args[1:], stdout, stderr)
		case "tune":
			return tune(args[1:], stdout, stderr)
		case "help":
			return help(args[1:], stdout, stderr)
		}
		if !strings.HasPrefix(args[0], "-") {
			return usageError{fmt.Errorf("unknown command %q: run the lens with flags (logitlens --model demo --prompt \"Are cats good?\"), or use logitlens serve or logitlens tune; see logitlens --help", args[0])}
		}
	}
	return lensCommand(args, stdout, stderr)
}

// help is `logitlens help [serve|tune]`: the usage, as --help prints it.
func help(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		return lensCommand([]string{"--help"}, stdout, stderr)
	case len(args) == 1 && (args[0] == "serve" || args[0] == "tune"):
		return run([]string{args[0], "--help"}, stdout, stderr)
	}
	return usageError{fmt.Errorf("help %s: there is help on logitlens, logitlens serve and logitlens tune (logitlens help serve)", strings.Join(args, " "))}
}

// lensCommand is the lens itself: flags checked, model loaded, lens run, table
// printed and files written.
func lensCommand(args []string, stdout, stderr io.Writer) error {
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
	f := newLensFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return strayArgument(fs)
	}
	layers, err := f.check()
	if err != nil {
		return err
	}
	m, err := loadModel(f.modelRef, f.offline, stderr)
	if err != nil {
		return err
	}
	r, err := f.run(m, layers)
	if err != nil {
		return err
	}
	if !f.quiet {
		tw := terminalWidth(f.width, stdout)
		printTable(stdout, r, tw)
		if r.Attribution != nil {
			printAttribution(stdout, r.Attribution, tw)
		}
	}
	return f.write(r, stderr)
}

// run runs the lens (and the attribution) of the flags on m.
func (f *lensFlags) run(m *lensnb.Model, layers []int) (*lensnb.Result, error) {
	opts, err := f.options(m, layers)
	if err != nil {
		return nil, err
	}
	var r *lensnb.Result
	if f.generate > 0 {
		r, err = lensnb.Generate(m, f.prompt, f.generate, opts)
	} else {
		r, err = lensnb.Prompt(m, f.prompt, opts)
	}
	if err != nil {
		return nil, err
	}
	r.Model = f.modelRef
	switch {
	case lensnb.IsRandom(m):
		r.Model = m.Ref + " — predictions are meaningless"
	case lensnb.IsDemo(m):
		r.Model = m.Ref
	}
	if f.attribute != "" {
		targets := []string{f.attribute}
		if f.versus != "" {
			targets = append(targets, f.versus)
		}
		a, err := lensnb.Attribute(m, f.prompt, targets...)
		if err != nil {
			return nil, fmt.Errorf("--attribute: %w", err)
		}
		a.Model = r.Model
		r.Attribution = a
	}
	return r, nil
}

// options are the lens options of the flags for m; the flags that depend on the
// model (--generate's room in the context, --target) are checked here.
func (f *lensFlags) options(m *lensnb.Model, layers []int) (lensnb.Options, error) {
	opts := lensnb.Options{NoFinalNorm: !f.finalNorm, TopK: f.topk, ResidMid: f.residMid, Stride: f.stride, Layers: layers}
	var err error
	if f.lens == "tuned" {
		if opts.Tuned, err = lensnb.LoadTunedLens(m, f.translators); err != nil {
			return opts, err
		}
	}
	if f.target != "" {
		id, err := targetID(m, f.target)
		if err != nil {
			return opts, err
		}
		opts.Target = lensnb.TokenID(id)
	}
	if f.generate > 0 {
		if n, err := m.Tokenizer.Encode(f.prompt); err == nil && len(n)+f.generate > m.Config.NPositions {
			return opts, usageError{fmt.Errorf("--generate %d: the prompt (%d tokens) and the generated tokens must fit the model's context of %d tokens: give at most --generate %d",
				f.generate, len(n), m.Config.NPositions, max(0, m.Config.NPositions-len(n)))}
		}
	}
	return opts, nil
}

// write writes the files the flags name, and says so on stderr.
func (f *lensFlags) write(r *lensnb.Result, stderr io.Writer) error {
	if err := writeFile(f.jsonPath, r.WriteJSON); err != nil {
		return err
	}
	if err := writeFile(f.csvPath, r.WriteCSV); err != nil {
		return err
	}
	attributionCSV := ""
	if f.csvPath != "" && r.Attribution != nil {
		attributionCSV = strings.TrimSuffix(f.csvPath, filepath.Ext(f.csvPath)) + ".attribution.csv"
		if err := writeFile(attributionCSV, r.Attribution.WriteCSV); err != nil {
			return err
		}
	}
	if err := writeFile(f.htmlPath, func(w io.Writer) error { return writeHTML(w, r) }); err != nil {
		return err
	}
	for _, p := range []string{f.jsonPath, f.csvPath, attributionCSV, f.htmlPath} {
		if p != "" {
			fmt.Fprintln(stderr, "wrote", p)
		}
	}
	return nil
}

// loadModel loads ref (engine.LoadModel), warning on stderr when its weights are random.
func loadModel(ref string, offline bool, stderr io.Writer) (*lensnb.Model, error) {
	if _, random := lensnb.RandomModels[strings.ToLower(strings.TrimSpace(ref))]; random {
		fmt.Fprintf(stderr, "logitlens: %s: RANDOM WEIGHTS with GPT-2's tokenizer; its predictions are noise. Use --model gpt2 for the real model.\n", strings.ToUpper(ref))
	}
	return loadEngine(ref, lensnb.LoadModelOptions{Progress: stderr, Offline: offline})
}

// loadEngine loads a model: engine.LoadModel (a test counts the loads).
var loadEngine = engine.LoadModel

// targetID is the token id --target names: "#id", or the text of one token.
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
