// Command gpubench times the logit lens on whatever GoMLX backend $GOMLX_BACKEND
// selects (the pure-Go one by default, XLA on CUDA with
// GOMLX_BACKEND="xla:/abs/path/xla_cuda_plugin.so") and checks one backend's lens
// against another's. It is built here and carried to a GPU machine by
// scripts/gpu/run.sh, which writes the model folders there with `gpubench fixture`.
//
//	gpubench fixture -spec tiny|small|xl -out DIR
//	gpubench time    -model DIR -items lens64,lens1024,forward64,matmul208 -reps 5 [-json out.json]
//	gpubench lens    -model DIR -tokens 40 -out lens.json     (a compact lens dump for compare)
//	gpubench compare -tol 1e-3 a.json b.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: gpubench fixture|time|lens|compare ... (see the package comment)"))
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "fixture":
		err = cmdFixture(args)
	case "time":
		err = cmdTime(args)
	case "lens":
		err = cmdLens(args)
	case "compare":
		err = cmdCompare(args)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gpubench:", err)
	os.Exit(1)
}

func specByName(name string) (fixture.Spec, error) {
	switch name {
	case "tiny":
		return fixture.Tiny(), nil
	case "small":
		return fixture.Small(), nil
	case "xl":
		return fixture.XL(), nil
	}
	return fixture.Spec{}, fmt.Errorf("unknown spec %q (tiny, small, xl)", name)
}

func cmdFixture(args []string) error {
	fs := flag.NewFlagSet("fixture", flag.ExitOnError)
	spec := fs.String("spec", "tiny", "tiny, small or xl")
	out := fs.String("out", "", "folder to write")
	fs.Parse(args)
	s, err := specByName(*spec)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("fixture: -out is required")
	}
	if _, err := os.Stat(filepath.Join(*out, ".complete")); err == nil {
		fmt.Printf("fixture %s: %s already complete\n", *spec, *out)
		return nil
	}
	start := time.Now()
	if err := fixture.Write(*out, s); err != nil {
		return err
	}
	if err := fixture.WriteFileAtomic(filepath.Join(*out, ".complete"), []byte("ok\n")); err != nil {
		return err
	}
	fmt.Printf("fixture %s: wrote %s in %.1f s\n", *spec, *out, time.Since(start).Seconds())
	return nil
}

func tokens(n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % min(50000, vocab)
	}
	return ids
}

func load(dir string) (*gpt2.Model, float64, error) {
	start := time.Now()
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	return m, time.Since(start).Seconds(), nil
}

// timing is one item's numbers, printed as a JSON line and collected in -json.
type timing struct {
	Model    string    `json:"model"`
	Backend  string    `json:"backend"`
	Item     string    `json:"item"`
	FirstS   float64   `json:"first_s"` // the warm-up call: compilation included
	MinS     float64   `json:"min_s"`
	MedianS  float64   `json:"median_s"`
	Times    []float64 `json:"times_s"`
	GFLOPs   float64   `json:"gflop_per_s,omitempty"` // unembedding FLOPs / min time (lens, matmul)
	Note     string    `json:"note,omitempty"`
	MaxRSSGB float64   `json:"max_rss_gb,omitempty"`
}

func cmdTime(args []string) error {
	fs := flag.NewFlagSet("time", flag.ExitOnError)
	dir := fs.String("model", "", "model folder")
	items := fs.String("items", "lens64,lens1024,forward64,forward1024,matmul208", "items: lensN, lensN@chunkRows, forwardN, course, matmulN")
	reps := fs.Int("reps", 5, "timed repetitions after one warm-up")
	jsonOut := fs.String("json", "", "append JSON lines here too")
	budget := fs.Float64("budget", 0, "seconds: stop starting new items after this (0: no limit)")
	fs.Parse(args)
	began := time.Now()
	m, loadS, err := load(*dir)
	if err != nil {
		return err
	}
	cfg := m.Config
	name := fmt.Sprintf("L%d-D%d-V%d", cfg.NLayer, cfg.NEmbd, cfg.VocabSize)
	emit := func(t timing) {
		b, _ := json.Marshal(t)
		fmt.Println(string(b))
		if *jsonOut != "" {
			f, err := os.OpenFile(*jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err == nil {
				f.Write(append(b, '\n'))
				f.Close()
			}
		}
	}
	emit(timing{Model: name, Backend: m.BackendName, Item: "load", FirstS: loadS, MinS: loadS, MedianS: loadS, Times: []float64{loadS}})
	for _, item := range strings.Split(*items, ",") {
		if item == "" || item == "load" { // load is always timed
			continue
		}
		if *budget > 0 && time.Since(began).Seconds() > *budget {
			fmt.Fprintf(os.Stderr, "gpubench: budget of %.0f s spent; skipping %s\n", *budget, item)
			continue
		}
		run, flops, note, err := workItem(m, item)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := run(); err != nil {
			return fmt.Errorf("%s: %w", item, err)
		}
		first := time.Since(start).Seconds()
		var times []float64
		for i := 0; i < *reps; i++ {
			start := time.Now()
			if err := run(); err != nil {
				return fmt.Errorf("%s: %w", item, err)
			}
			times = append(times, time.Since(start).Seconds())
		}
		sorted := append([]float64(nil), times...)
		sort.Float64s(sorted)
		t := timing{Model: name, Backend: m.BackendName, Item: item, FirstS: first, Times: times, Note: note}
		if len(sorted) > 0 {
			t.MinS, t.MedianS = sorted[0], sorted[len(sorted)/2]
			if flops > 0 {
				t.GFLOPs = flops / t.MinS / 1e9
			}
		}
		t.MaxRSSGB = maxRSSGB()
		emit(t)
	}
	return nil
}

// workItem returns the work for one item name and the unembedding FLOPs it does.
func workItem(m *gpt2.Model, item string) (run func() error, flops float64, note string, err error) {
	cfg := m.Config
	unembedFlops := func(rows int) float64 { return float64(rows) * float64(cfg.NEmbd) * float64(cfg.VocabSize) * 2 }
	var n, chunk int
	switch {
	case strings.HasPrefix(item, "lens"):
		spec := strings.TrimPrefix(item, "lens")
		if a, b, ok := strings.Cut(spec, "@"); ok {
			spec = a
			if _, err := fmt.Sscan(b, &chunk); err != nil {
				return nil, 0, "", fmt.Errorf("item %q: bad chunk rows", item)
			}
		}
		if _, err := fmt.Sscan(spec, &n); err != nil {
			return nil, 0, "", fmt.Errorf("item %q: bad token count", item)
		}
		ids := tokens(min(n, cfg.NPositions), cfg.VocabSize)
		states := cfg.NLayer + 1
		opts := lensnb.Options{ChunkRows: chunk}
		return func() error {
			_, err := lensnb.PromptIDs(engine.Wrap(m), ids, opts)
			return err
		}, unembedFlops(states * len(ids)), fmt.Sprintf("%d states × %d positions, ChunkRows=%d (0: sized by memory)", states, len(ids), chunk), nil
	case strings.HasPrefix(item, "forward"):
		if _, err := fmt.Sscan(strings.TrimPrefix(item, "forward"), &n); err != nil {
			return nil, 0, "", fmt.Errorf("item %q: bad token count", item)
		}
		ids := tokens(min(n, cfg.NPositions), cfg.VocabSize)
		return func() error {
			_, err := m.Run(ids, lm.RunOptions{})
			return err
		}, 0, "all logits", nil
	case item == "course":
		return func() error {
			_, err := lensnb.Generate(engine.Wrap(m), "Are cats good?", 10, lensnb.Options{NoFinalNorm: true})
			return err
		}, 0, "generate 10 from 4 + lens on 130 states", nil
	case strings.HasPrefix(item, "matmul"):
		if _, err := fmt.Sscan(strings.TrimPrefix(item, "matmul"), &n); err != nil {
			return nil, 0, "", fmt.Errorf("item %q: bad row count", item)
		}
		x := make([]float32, n*cfg.NEmbd)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		exec, err := m.Exec(fmt.Sprintf("gpubench:matmul:%d", n), func(scope *model.Scope, in []*Node) []*Node {
			return []*Node{m.Unembed(scope, in[0])}
		})
		if err != nil {
			return nil, 0, "", err
		}
		return func() error {
			outs, err := exec.Call(tensors.FromFlatDataAndDimensions(x, n, cfg.NEmbd))
			if err != nil {
				return err
			}
			// Reading one value back waits for the device to finish.
			err = tensors.ConstFlatData(outs[0], func(z []float32) { _ = z[0] })
			outs[0].FinalizeAll()
			return err
		}, unembedFlops(n), fmt.Sprintf("[%d,%d]×[%d,%d] through lm_head, result read back", n, cfg.NEmbd, cfg.NEmbd, cfg.VocabSize), nil
	}
	return nil, 0, "", fmt.Errorf("unknown item %q", item)
}

// lensDump is the part of a lens result that compare checks.
type lensDump struct {
	Backend string       `json:"backend"`
	States  []string     `json:"states"`
	Cells   [][]cellDump `json:"cells"`
}

type cellDump struct {
	TopIDs   []int     `json:"top_ids"`
	TopProbs []float64 `json:"top_probs"`
	Entropy  float64   `json:"entropy"`
	KL       float64   `json:"kl"`
	NextProb float64   `json:"next_prob"`
}

func cmdLens(args []string) error {
	fs := flag.NewFlagSet("lens", flag.ExitOnError)
	dir := fs.String("model", "", "model folder")
	n := fs.Int("tokens", 40, "prompt length (deterministic ids)")
	gen := fs.Int("generate", 0, "instead: generate this many tokens from \"Are cats good?\" and lens them (raw states, the course's way)")
	out := fs.String("out", "", "JSON file")
	fs.Parse(args)
	m, _, err := load(*dir)
	if err != nil {
		return err
	}
	var r *lensnb.Result
	if *gen > 0 {
		r, err = lensnb.Generate(engine.Wrap(m), "Are cats good?", *gen, lensnb.Options{NoFinalNorm: true})
	} else {
		r, err = lensnb.PromptIDs(engine.Wrap(m), tokens(min(*n, m.Config.NPositions), m.Config.VocabSize), lensnb.Options{})
	}
	if err != nil {
		return err
	}
	d := lensDump{Backend: m.BackendName, States: r.States}
	for _, row := range r.Cells {
		var dr []cellDump
		for _, c := range row {
			cd := cellDump{Entropy: c.Entropy, KL: c.KLToFinal, NextProb: c.NextProb}
			for _, t := range c.Top {
				cd.TopIDs = append(cd.TopIDs, t.ID)
				cd.TopProbs = append(cd.TopProbs, t.Prob)
			}
			dr = append(dr, cd)
		}
		d.Cells = append(d.Cells, dr)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	fmt.Printf("lens: %d states × %d columns on %s\n", len(d.Cells), len(d.Cells[0]), m.BackendName)
	return os.WriteFile(*out, b, 0o644)
}

func readDump(path string) (*lensDump, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d lensDump
	return &d, json.Unmarshal(b, &d)
}

// cmdCompare checks b against a: entropy, KL and top-k probabilities within tol
// (absolute), the same top-1 token everywhere. It prints the largest differences.
func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	tol := fs.Float64("tol", 1e-3, "absolute tolerance")
	fs.Parse(args)
	if fs.NArg() != 2 {
		return fmt.Errorf("compare: give two lens JSON files")
	}
	a, err := readDump(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := readDump(fs.Arg(1))
	if err != nil {
		return err
	}
	if len(a.Cells) != len(b.Cells) || len(a.Cells[0]) != len(b.Cells[0]) {
		return fmt.Errorf("compare: shapes differ")
	}
	var dEnt, dKL, dProb float64
	top1Diff, topSetDiff, cells := 0, 0, 0
	for s := range a.Cells {
		for c := range a.Cells[s] {
			x, y := a.Cells[s][c], b.Cells[s][c]
			cells++
			dEnt = math.Max(dEnt, math.Abs(x.Entropy-y.Entropy))
			dKL = math.Max(dKL, math.Abs(x.KL-y.KL))
			dProb = math.Max(dProb, math.Abs(x.NextProb-y.NextProb))
			if x.TopIDs[0] != y.TopIDs[0] {
				top1Diff++
			}
			same := true
			for i := range x.TopIDs {
				if x.TopIDs[i] != y.TopIDs[i] {
					same = false
				} else {
					dProb = math.Max(dProb, math.Abs(x.TopProbs[i]-y.TopProbs[i]))
				}
			}
			if !same {
				topSetDiff++
			}
		}
	}
	ok := dEnt <= *tol && dKL <= *tol && dProb <= *tol && top1Diff == 0
	fmt.Printf("compare %s vs %s: %d cells; max |Δentropy| %.3g, max |ΔKL| %.3g, max |Δprob| %.3g (top-k and next token); top-1 differs in %d cells, top-k order in %d; tol %g: %s\n",
		a.Backend, b.Backend, cells, dEnt, dKL, dProb, top1Diff, topSetDiff, *tol, map[bool]string{true: "PASS", false: "FAIL"}[ok])
	if !ok {
		os.Exit(2)
	}
	return nil
}

// maxRSSGB is this process's peak resident set so far.
func maxRSSGB() float64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmHWM:"), "kB")), &kb)
			return kb / 1e6
		}
	}
	return 0
}
