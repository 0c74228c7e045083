// Command bench times this project side by side with PyTorch on a GPT-2-small-shaped
// model with random weights (written once to the user cache): each work item runs
// in two long-lived child processes, ours (this binary, -child) and PyTorch's
// (reference/bench_torch.py, float32, Hugging Face GPT-2 semantics), each loaded
// and warmed up once; the timed runs then alternate ours, PyTorch, ours, PyTorch…
// so that both sides see the same machine load. It prints one table: min and median
// seconds per side, the ratio ours/PyTorch, and each side's peak RSS (the child's
// ru_maxrss), then the achieved GFLOP/s of the lens unembedding against the
// machine's measured matmul peak.
//
//	go run ./cmd/bench                        # every item (about 8 minutes on 2 cores)
//	go run ./cmd/bench -items lens64,course -reps 10
//	go run ./cmd/bench -torch=false           # ours only
//
// PyTorch runs with Debian's /usr/bin/python3 (scripts/install-reference.sh installs
// it; $LOGITLENS_PYTHON overrides), torch.set_num_threads(2) and, unless set
// otherwise, OMP_WAIT_POLICY=PASSIVE: on a shared 2-core machine libgomp's spinning
// barriers made PyTorch 1.5-3× slower and far noisier.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

type item struct {
	name, work string
	reps       int     // default timed repetitions (after one warm-up)
	target     float64 // ours/PyTorch ratio to reach; 0 = none
	targetRSS  float64 // GB, ours; 0 = none
	rows       int     // rows unembedded (for GFLOP/s); 0 = not reported
	// prepare returns the work, run once per repetition.
	prepare func(m *gpt2.Model) (func() error, error)
}

// courseIDs are the course's prompt "Are cats good?".
var courseIDs = []int{8491, 11875, 922, 30}

func tokens(n int) []int { return tokensIn(n, 50257) }

// tokensIn is tokens for a vocabulary of vocab ids (reference/bench_torch.py's tokens).
func tokensIn(n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % min(50000, vocab)
	}
	return ids
}

func simple(f func(m *gpt2.Model) error) func(m *gpt2.Model) (func() error, error) {
	return func(m *gpt2.Model) (func() error, error) { return func() error { return f(m) }, nil }
}

var items = []item{
	{name: "load", work: "model load, warm page cache (ours: weights + tokenizer; PyTorch: weights)", reps: 5,
		prepare: nil},
	{name: "matmul208", work: "one [208,768]×[768,50257] unembedding matmul (machine peak)", reps: 10, rows: 208,
		prepare: func(m *gpt2.Model) (func() error, error) {
			const n = 208
			x := make([]float32, n*m.Config.NEmbd)
			for i := range x {
				x[i] = float32(math.Sin(float64(i)))
			}
			exec, err := m.Exec("bench:matmul208", func(scope *model.Scope, in []*Node) []*Node {
				return []*Node{m.Unembed(scope, in[0])}
			})
			if err != nil {
				return nil, err
			}
			return func() error {
				outs, err := exec.Call(tensors.FromFlatDataAndDimensions(x, n, m.Config.NEmbd))
				if err != nil {
					return err
				}
				err = tensors.ConstFlatData(outs[0], func(z []float32) { _ = z[len(z)-1] })
				outs[0].FinalizeAll()
				return err
			}, nil
		}},
	{name: "forward64", work: "forward pass, 64 tokens, all logits", reps: 10, target: 1.0,
		prepare: simple(func(m *gpt2.Model) error {
			_, err := m.Run(tokens(64), lm.RunOptions{})
			return err
		})},
	{name: "lens64", work: "prompt lens, 64 tokens: 13 states, top-5, entropy, KL, ranks", reps: 6, target: 0.6, rows: 13 * 64,
		prepare: simple(func(m *gpt2.Model) error {
			_, err := lensnb.PromptIDs(engine.Wrap(m), tokens(64), lensnb.Options{})
			return err
		})},
	{name: "course", work: "course: generate 10 from 4 tokens + lm_head/softmax on 130 states", reps: 5, target: 0.15,
		prepare: func(m *gpt2.Model) (func() error, error) {
			if ids, err := m.Tokenizer.Encode("Are cats good?"); err != nil || fmt.Sprint(ids) != fmt.Sprint(courseIDs) {
				return nil, fmt.Errorf("course: \"Are cats good?\" encodes to %v (%v), want %v", ids, err, courseIDs)
			}
			return func() error {
				_, err := lensnb.Generate(engine.Wrap(m), "Are cats good?", 10, lensnb.Options{NoFinalNorm: true})
				return err
			}, nil
		}},
	{name: "forward1024", work: "forward pass, 1024 tokens, all logits", reps: 2,
		prepare: simple(func(m *gpt2.Model) error {
			_, err := m.Run(tokens(1024), lm.RunOptions{})
			return err
		})},
	{name: "lens1024", work: "prompt lens, 1024 tokens: 13 states, top-5, entropy, KL, ranks", reps: 2, target: 0.7, targetRSS: 1.5, rows: 13 * 1024,
		prepare: simple(func(m *gpt2.Model) error {
			_, err := lensnb.PromptIDs(engine.Wrap(m), tokens(1024), lensnb.Options{})
			return err
		})},
}

func main() {
	child := flag.String("child", "", "internal: serve one item in this process (see reference/bench_torch.py for the protocol)")
	modelDir := flag.String("model", "", "internal: the model folder (-child)")
	reps := flag.Int("reps", 0, "timed repetitions per item and side (0: each item's default)")
	only := flag.String("items", "", "comma-separated items (default all): "+names())
	torch := flag.Bool("torch", true, "also run the PyTorch side")
	cpuProfile := flag.String("cpuprofile", "", "instead: run -items' first item (ours) -reps times after a warm-up under the CPU profiler, write the profile here")
	scale := flag.Bool("scale", false, "run the scale table (gpt2-medium, -large, -xl shapes, and SmolLM2-135M's, Qwen2.5-0.5B's and Pythia-160m's) instead of the GPT-2-small table")
	sizes := flag.String("sizes", "", "with -scale: comma-separated sizes (default all): medium,large,xl,smollm2-135m,qwen2.5-0.5b,pythia-160m")
	genStep := flag.Bool("genstep", false, "instead: time one generation step on GPT-2-small shapes against the memory read bandwidth (ours only)")
	childSession := flag.String("child-session", "", "internal: run these items once each in this process (-scale)")
	flag.Parse()
	if *childSession != "" {
		if err := serveSession(*modelDir, *childSession); err != nil {
			fail(err)
		}
		return
	}
	if *genStep {
		fmt.Printf("machine: %s; load average at start %s\n", machine(), loadavg())
		if err := runGenStep(*reps); err != nil {
			fail(err)
		}
		return
	}
	if *cpuProfile != "" {
		if err := profile(*only, *reps, *cpuProfile); err != nil {
			fail(err)
		}
		return
	}
	if *child != "" {
		if err := serve(*modelDir, *child); err != nil {
			fail(err)
		}
		return
	}
	python := os.Getenv("LOGITLENS_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	script, err := findScript()
	if err != nil && *torch {
		fail(err)
	}
	torchVersion := ""
	if *torch {
		out, err := exec.Command(python, "-c", "import torch, numpy; print(torch.__version__)").CombinedOutput()
		if err != nil {
			fail(fmt.Errorf("PyTorch is not importable by %s (%v: %s): run scripts/install-reference.sh (make bench does), or -torch=false", python, err, bytes.TrimSpace(out)))
		}
		torchVersion = strings.TrimSpace(string(out))
	}
	_, backend, _ := gpt2.Backend()
	if *scale {
		fmt.Printf("ours: backend %s, %s, GOEXPERIMENT=%s, GOMAXPROCS=%d\n", backend, runtime.Version(), os.Getenv("GOEXPERIMENT"), runtime.GOMAXPROCS(0))
		if *torch {
			fmt.Printf("PyTorch: %s float32, %s, %s threads, OMP_WAIT_POLICY=%s\n", torchVersion, python, torchThreads(), torchWaitPolicy())
		}
		fmt.Printf("machine: %s; load average at start %s\n", machine(), loadavg())
		if err := runScale(*sizes, python, script, *torch); err != nil {
			fail(err)
		}
		fmt.Printf("\nload average at end %s\n", loadavg())
		return
	}
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		fail(err)
	}
	fmt.Printf("GPT-2-small shapes (12×768, vocab 50257), random weights (%s)\n", dir)
	fmt.Printf("ours: backend %s, %s, GOEXPERIMENT=%s, GOMAXPROCS=%d\n", backend, runtime.Version(), os.Getenv("GOEXPERIMENT"), runtime.GOMAXPROCS(0))
	if *torch {
		ranks := "lens computes the two ranks like ours"
		if os.Getenv("BENCH_TORCH_RANKS") == "0" {
			ranks = "lens WITHOUT the two ranks (BENCH_TORCH_RANKS=0)"
		}
		fmt.Printf("PyTorch: %s float32, %s, %s threads, OMP_WAIT_POLICY=%s, %s\n", torchVersion, python, torchThreads(), torchWaitPolicy(), ranks)
	}
	fmt.Printf("machine: %s; load average at start %s\n\n", machine(), loadavg())

	var rows []result
	for _, it := range items {
		if *only != "" && !strings.Contains(","+*only+",", ","+it.name+",") {
			continue
		}
		n := it.reps
		if *reps > 0 {
			n = *reps
		}
		fmt.Fprintf(os.Stderr, "bench: %s (%d reps per side)…\n", it.name, n)
		r, err := measure(it, dir, python, script, n, *torch)
		if err != nil {
			fail(fmt.Errorf("%s: %w", it.name, err))
		}
		rows = append(rows, r)
	}
	printTable(rows, *torch)
	fmt.Printf("\nload average at end %s\n", loadavg())
}

// torchCommand runs reference/bench_torch.py with args, two threads and passive
// OpenMP waiting unless the environment says otherwise.
func torchCommand(python, script string, args ...string) *exec.Cmd {
	c := exec.Command(python, append([]string{script}, args...)...)
	c.Env = os.Environ()
	if os.Getenv("OMP_WAIT_POLICY") == "" {
		c.Env = append(c.Env, "OMP_WAIT_POLICY=PASSIVE")
	}
	if os.Getenv("BENCH_TORCH_THREADS") == "" {
		c.Env = append(c.Env, "BENCH_TORCH_THREADS=2")
	}
	return c
}

// result is one item's numbers for both sides.
type result struct {
	it         item
	ours, them []float64 // seconds of the timed runs
	oursRSS    float64   // GB
	themRSS    float64
	oursFirst  float64 // warm-up run (compilation included)
	themFirst  float64
}

func measure(it item, dir, python, script string, reps int, torch bool) (result, error) {
	r := result{it: it}
	oursCmd := func() *exec.Cmd { return exec.Command(os.Args[0], "-child", it.name, "-model", dir) }
	torchCmd := func() *exec.Cmd { return torchCommand(python, script, "--model", dir, "--item", it.name) }
	if it.name == "load" { // a fresh process per run: ours, PyTorch, ours, …
		for i := 0; i < reps; i++ {
			s, rss, err := loadOnce(oursCmd())
			if err != nil {
				return r, fmt.Errorf("ours: %w", err)
			}
			r.ours, r.oursRSS = append(r.ours, s), max(r.oursRSS, rss)
			if torch {
				s, rss, err := loadOnce(torchCmd())
				if err != nil {
					return r, fmt.Errorf("PyTorch: %w", err)
				}
				r.them, r.themRSS = append(r.them, s), max(r.themRSS, rss)
			}
		}
		return r, nil
	}
	ours, _, err := startChild(oursCmd())
	if err != nil {
		return r, fmt.Errorf("ours: %w", err)
	}
	defer ours.kill()
	if r.oursFirst, err = ours.expect("ready"); err != nil {
		return r, fmt.Errorf("ours: %w", err)
	}
	var them *child
	if torch {
		if them, _, err = startChild(torchCmd()); err != nil {
			return r, fmt.Errorf("PyTorch: %w", err)
		}
		defer them.kill()
		if r.themFirst, err = them.expect("ready"); err != nil {
			return r, fmt.Errorf("PyTorch: %w", err)
		}
	}
	for i := 0; i < reps; i++ {
		time.Sleep(settle)
		s, err := ours.run()
		if err != nil {
			return r, fmt.Errorf("ours: %w", err)
		}
		r.ours = append(r.ours, s)
		if them != nil {
			time.Sleep(settle)
			s, err := them.run()
			if err != nil {
				return r, fmt.Errorf("PyTorch: %w", err)
			}
			r.them = append(r.them, s)
		}
	}
	if r.oursRSS, err = ours.close(); err != nil {
		return r, fmt.Errorf("ours: %w", err)
	}
	if them != nil {
		if r.themRSS, err = them.close(); err != nil {
			return r, fmt.Errorf("PyTorch: %w", err)
		}
	}
	return r, nil
}

// settle is the pause before each timed run, so that each side starts on an idle
// machine: right after a PyTorch run ours ran slower than after a pause (forward64
// min 0.185-0.195 s back to back, 0.166 s with this pause, 0.125 s with no PyTorch
// at all, 2026-12-05), PyTorch's threads still busy; the pause charges neither side
// for the other's leftovers.
const settle = 300 * time.Millisecond

// child is a running item server: it answers "run" with the seconds one run took.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startChild starts cmd and waits until it has loaded the model; it returns the
// load time the child measured.
func startChild(cmd *exec.Cmd) (*child, float64, error) {
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	s, err := c.expect("load")
	if err != nil {
		c.kill()
		return nil, 0, err
	}
	return c, s, nil
}

// expect reads the next line, "<word> <seconds>" (or just "<seconds>" for word "").
func (c *child) expect(word string) (float64, error) {
	if !c.out.Scan() {
		err := c.cmd.Wait()
		return 0, fmt.Errorf("the child ended before %q: %v", word, err)
	}
	line := strings.TrimSpace(c.out.Text())
	f := strings.Fields(line)
	if word != "" {
		if len(f) != 2 || f[0] != word {
			return 0, fmt.Errorf("child said %q, want %q", line, word+" SECONDS")
		}
		f = f[1:]
	}
	if len(f) != 1 {
		return 0, fmt.Errorf("child said %q, want SECONDS", line)
	}
	return strconv.ParseFloat(f[0], 64)
}

func (c *child) run() (float64, error) {
	if _, err := io.WriteString(c.in, "run\n"); err != nil {
		return 0, err
	}
	return c.expect("")
}

// close ends the child (end of input) and returns its peak RSS in GB.
func (c *child) close() (float64, error) {
	c.in.Close()
	for c.out.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		return 0, err
	}
	return rssGB(c.cmd.ProcessState), nil
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil && c.cmd.Process != nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

func loadOnce(cmd *exec.Cmd) (seconds, rss float64, err error) {
	c, seconds, err := startChild(cmd)
	if err != nil {
		return 0, 0, err
	}
	rss, err = c.close()
	return seconds, rss, err
}

func rssGB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) * 1024 / 1e9 // Linux: KiB
	}
	return 0
}

// serve is the child side for ours: the protocol of reference/bench_torch.py.
func serve(dir, name string) error {
	var it *item
	for i := range items {
		if items[i].name == name {
			it = &items[i]
		}
	}
	if it == nil {
		return fmt.Errorf("unknown item %q: %s", name, names())
	}
	start := time.Now()
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		return err
	}
	fmt.Printf("load %.6f\n", time.Since(start).Seconds())
	if it.prepare == nil { // load
		return nil
	}
	run, err := it.prepare(m)
	if err != nil {
		return err
	}
	start = time.Now()
	if err := run(); err != nil { // warm-up: compiles the graphs
		return err
	}
	fmt.Printf("ready %.6f\n", time.Since(start).Seconds())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if strings.TrimSpace(in.Text()) != "run" {
			continue
		}
		start := time.Now()
		if err := run(); err != nil {
			return err
		}
		fmt.Printf("%.6f\n", time.Since(start).Seconds())
	}
	return in.Err()
}

// profile runs one item of ours under the CPU profiler (after a warm-up).
func profile(name string, reps int, path string) error {
	name, _, _ = strings.Cut(name, ",")
	var it *item
	for i := range items {
		if items[i].name == name && items[i].prepare != nil {
			it = &items[i]
		}
	}
	if it == nil {
		return fmt.Errorf("-cpuprofile: give one item with -items (not load): %s", names())
	}
	m, err := loadSmall()
	if err != nil {
		return err
	}
	run, err := it.prepare(m)
	if err != nil {
		return err
	}
	if err := run(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if reps == 0 {
		reps = it.reps
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	var times []float64
	for i := 0; i < reps; i++ {
		start := time.Now()
		if err := run(); err != nil {
			return err
		}
		times = append(times, time.Since(start).Seconds())
	}
	pprof.StopCPUProfile()
	fmt.Printf("%s: %d runs %v s; CPU profile in %s (go tool pprof -top %s)\n", name, reps, times, path, path)
	return nil
}

func minMedian(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[0], med
}

func printTable(rows []result, torch bool) {
	fmt.Println("| item | work | ours min s | ours median s | PyTorch min s | PyTorch median s | ours/PyTorch (min) | (median) | target | ours peak RSS | PyTorch peak RSS |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	var peakOurs, peakThem float64
	for _, r := range rows {
		om, od := minMedian(r.ours)
		tm, td := minMedian(r.them)
		ratio, ratioMed := om/tm, od/td
		target := "—"
		if r.it.target > 0 {
			target = fmt.Sprintf("≤ %.2f %s", r.it.target, mark(torch && ratio <= r.it.target))
		}
		if r.it.targetRSS > 0 {
			target += fmt.Sprintf("; RSS ≤ %.1f GB %s", r.it.targetRSS, mark(r.oursRSS <= r.it.targetRSS))
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.it.name, r.it.work,
			num(om), num(od), num(tm), num(td), ratioStr(ratio), ratioStr(ratioMed), target, gb(r.oursRSS), gb(r.themRSS))
		if r.it.name == "matmul208" {
			peakOurs, peakThem = flops(r.it.rows)/om/1e9, flops(r.it.rows)/tm/1e9
		}
	}
	fmt.Println("\nUnembedding GFLOP/s: rows×768×50257×2 / min time (for a lens: its whole time, forward pass and top-k included)")
	fmt.Println("\n| item | rows | GFLOP | ours GFLOP/s | PyTorch GFLOP/s | ours % of the matmul peak | PyTorch % of the matmul peak |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	peak := max(peakOurs, peakThem)
	for _, r := range rows {
		if r.it.rows == 0 {
			continue
		}
		om, _ := minMedian(r.ours)
		tm, _ := minMedian(r.them)
		g := flops(r.it.rows) / 1e9
		pct := func(x float64) string {
			if peak == 0 || math.IsNaN(peak) || math.IsNaN(x) {
				return "—"
			}
			return fmt.Sprintf("%.0f%%", 100*x/peak)
		}
		fmt.Printf("| %s | %d | %.1f | %s | %s | %s | %s |\n", r.it.name, r.it.rows, g, num1(g/om), num1(g/tm), pct(g/om), pct(g/tm))
	}
	if peak > 0 {
		fmt.Printf("\nMachine matmul peak (best of both matmul208 runs): %.1f GFLOP/s\n", peak)
	}
}

func flops(rows int) float64 { return float64(rows) * 768 * 50257 * 2 }

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if v < 1 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func num1(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.1f", v)
}

func ratioStr(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func gb(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f GB", v)
}

func torchThreads() string {
	if v := os.Getenv("BENCH_TORCH_THREADS"); v != "" {
		return v
	}
	return "2"
}

func torchWaitPolicy() string {
	if v := os.Getenv("OMP_WAIT_POLICY"); v != "" {
		return v
	}
	return "PASSIVE"
}

// findScript locates reference/bench_torch.py from the working directory upwards.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "reference", "bench_torch.py")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("reference/bench_torch.py not found: run from the repository")
		}
		dir = parent
	}
}

// machine describes the CPU and memory from /proc.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:")), &kb)
			}
		}
		mem = fmt.Sprintf(", %.1f GiB RAM", kb/(1<<20))
	}
	return fmt.Sprintf("%d CPUs (%s)%s", runtime.NumCPU(), model, mem)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func names() string {
	var n []string
	for _, it := range items {
		n = append(n, it.name)
	}
	return strings.Join(n, ",")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
