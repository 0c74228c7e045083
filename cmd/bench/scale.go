package main

// The scale table (`go run ./cmd/bench -scale`, part of `make bench`): random
// models of gpt2-medium, gpt2-large and gpt2-xl shapes, written once into the user
// cache, each run by both sides in one session per process — load, the first
// prompt lens (4 tokens: ours compiles its graphs here), prompt lenses of 64 and
// 256 tokens, a 10-token generation with its lens — and the peak RSS of that whole
// session. The sides run one after the other (never at once: the biggest model
// would not fit twice), each after the weights file has been read once so that
// both load from a warm page cache.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/internal/sysmem"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// scaleSize is one model of the scale table.
type scaleSize struct {
	name string
	spec fixture.Spec
}

var scaleSizes = []scaleSize{
	{"gpt2-medium", fixture.Medium()},
	{"gpt2-large", fixture.Large()},
	{"gpt2-xl", fixture.XL()},
	// Beyond GPT-2: the shapes of SmolLM2-135M (Llama, 3 kv heads for 9), of
	// Qwen2.5-0.5B (a 151,936-token vocabulary, 2 kv heads for 14, q/k/v biases) and
	// of Pythia-160m (GPT-NeoX: partial rotary, parallel residual, untied head).
	// (SmolLM2-135M's vocabulary is 49,152; the fixture carries GPT-2's tokenizer, so 50,257.)
	{"smollm2-135m", fixture.Spec{Family: "llama", NLayer: 30, NHead: 9, NKVHead: 3, NEmbd: 576, NInner: 1536, NPositions: 8192, VocabSize: 50257, Seed: 1}},
	{"qwen2.5-0.5b", fixture.Spec{Family: "qwen2", NLayer: 24, NHead: 14, NKVHead: 2, NEmbd: 896, NInner: 4864, NPositions: 32768, VocabSize: 151936, Seed: 1}},
	{"pythia-160m", fixture.Spec{Family: "gpt_neox", NLayer: 12, NHead: 12, NEmbd: 768, NInner: 3072, NPositions: 2048, VocabSize: 50304, Seed: 1}},
}

// scaleItems run in this order in each session; the first lens compiles.
var scaleItems = []struct{ name, work string }{
	{"lens4", "first prompt lens, 4 tokens (ours: graphs compiled here)"},
	{"lens64", "prompt lens, 64 tokens"},
	{"lens256", "prompt lens, 256 tokens"},
	{"gen10", "generate 10 tokens from the course prompt, then their lens"},
}

// session is what one side's process reported.
type session struct {
	load, loadPeak float64            // seconds, GB
	secs, peaks    map[string]float64 // per item; peak RSS so far (GB)
	peak           float64            // whole session (GB)
}

// scaleResult is one size's two sessions.
type scaleResult struct {
	size        scaleSize
	weightsGB   float64
	ours, torch *session
	skipped     string
}

// runScale runs the scale table for the sizes named in only (all if empty).
func runScale(only, python, script string, torch bool) error {
	var results []scaleResult
	for _, size := range scaleSizes {
		if only != "" && !strings.Contains(","+only+",", ","+strings.TrimPrefix(size.name, "gpt2-")+",") {
			continue
		}
		r := scaleResult{size: size, weightsGB: float64(size.spec.WeightBytes()) / 1e9}
		dir, why, err := scaleModel(size)
		if err != nil {
			return err
		}
		if why != "" {
			fmt.Fprintf(os.Stderr, "bench: skipping %s: %s\n", size.name, why)
			r.skipped = why
			results = append(results, r)
			continue
		}
		items := make([]string, len(scaleItems))
		for i, it := range scaleItems {
			items[i] = it.name
		}
		fmt.Fprintf(os.Stderr, "bench: %s, ours…\n", size.name)
		if r.ours, err = runSession(exec.Command(os.Args[0], "-child-session", strings.Join(items, ","), "-model", dir), dir); err != nil {
			return fmt.Errorf("%s, ours: %w", size.name, err)
		}
		if torch {
			fmt.Fprintf(os.Stderr, "bench: %s, PyTorch…\n", size.name)
			if r.torch, err = runSession(torchCommand(python, script, "--model", dir, "--session", strings.Join(items, ",")), dir); err != nil {
				return fmt.Errorf("%s, PyTorch: %w", size.name, err)
			}
		}
		results = append(results, r)
	}
	printScale(results, torch)
	return nil
}

// scaleModel returns the folder of size's random model, writing it first if it is
// not cached, or why it cannot run here (disk or memory too small).
func scaleModel(size scaleSize) (dir, why string, err error) {
	need := size.spec.WeightBytes()
	// Both sides hold about one copy, plus activations and the runtime.
	if avail := memAvailable(); avail < need+need/4+2<<30 {
		return "", fmt.Sprintf("it needs about %.1f GB of free memory (%.1f GB of weights and working space); %.1f GB is available", float64(need+need/4+2<<30)/1e9, float64(need)/1e9, float64(avail)/1e9), nil
	}
	cache, err := fixture.CacheDir()
	if err != nil {
		return "", "", err
	}
	if !size.spec.IsCached() {
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", "", err
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(cache, &st); err == nil {
			if free := int64(st.Bavail) * st.Bsize; free < need+1<<30 {
				return "", fmt.Sprintf("writing it needs %.1f GB of disk in %s; %.1f GB is free", float64(need+1<<30)/1e9, cache, float64(free)/1e9), nil
			}
		}
		fmt.Fprintf(os.Stderr, "bench: writing a random %s-shaped model once (%.1f GB) into %s…\n", size.name, float64(need)/1e9, cache)
	}
	dir, err = fixture.Cached(size.spec)
	return dir, "", err
}

// runSession warms the page cache with dir's weights, runs cmd and reads its
// "load SECONDS PEAK_GB" and "ITEM SECONDS PEAK_GB" lines.
func runSession(cmd *exec.Cmd, dir string) (*session, error) {
	if err := readThrough(filepath.Join(dir, gpt2.WeightsFile)); err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &session{secs: map[string]float64{}, peaks: map[string]float64{}}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("child said %q, want ITEM SECONDS PEAK_GB", sc.Text())
		}
		secs, err1 := strconv.ParseFloat(f[1], 64)
		peak, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("child said %q, want ITEM SECONDS PEAK_GB", sc.Text())
		}
		if f[0] == "load" {
			s.load, s.loadPeak = secs, peak
		} else {
			s.secs[f[0]], s.peaks[f[0]] = secs, peak
		}
		fmt.Fprintf(os.Stderr, "bench:   %s %.2f s, peak %.2f GB\n", f[0], secs, peak)
	}
	if err := cmd.Wait(); err != nil {
		return nil, err
	}
	s.peak = rssGB(cmd.ProcessState)
	if len(s.secs) != len(scaleItems) {
		return nil, fmt.Errorf("the child reported %d of %d items", len(s.secs), len(scaleItems))
	}
	return s, nil
}

// readThrough reads a file once so that it sits in the page cache.
func readThrough(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// serveSession is the child side for ours: load, then each item once, reporting
// the seconds and the peak RSS so far (VmHWM).
func serveSession(dir, list string) error {
	start := time.Now()
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		return err
	}
	fmt.Printf("load %.6f %.4f\n", time.Since(start).Seconds(), vmHWM())
	for _, name := range strings.Split(list, ",") {
		start := time.Now()
		switch {
		case strings.HasPrefix(name, "lens"):
			n, err := strconv.Atoi(strings.TrimPrefix(name, "lens"))
			if err != nil {
				return fmt.Errorf("unknown item %q", name)
			}
			if _, err := lensnb.PromptIDs(engine.Wrap(m), tokensIn(n, m.Config.VocabSize), lensnb.Options{}); err != nil {
				return err
			}
		case strings.HasPrefix(name, "gen"):
			n, err := strconv.Atoi(strings.TrimPrefix(name, "gen"))
			if err != nil {
				return fmt.Errorf("unknown item %q", name)
			}
			gen, err := m.Generate(courseIDs, lm.GenerateOptions{MaxNewTokens: n})
			if err != nil {
				return err
			}
			if _, err := lensnb.FromGeneration(engine.Wrap(m), gen, lensnb.Options{}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown item %q", name)
		}
		fmt.Printf("%s %.6f %.4f\n", name, time.Since(start).Seconds(), vmHWM())
	}
	return nil
}

// vmHWM is this process's peak RSS so far in GB, from /proc/self/status.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024 / 1e9
		}
	}
	return 0
}

// memAvailable is the memory the system says is available, or a large number
// where it cannot be read, so that nothing is skipped for want of a reading.
func memAvailable() int64 {
	if n, err := sysmem.MemAvailable(); err == nil {
		return n
	}
	return 1 << 50
}

// printScale prints the scale table: one block of rows per size.
func printScale(results []scaleResult, torch bool) {
	fmt.Println("\nScale: random models of the bigger GPT-2 shapes and of other families' (float32), one session per side and size")
	fmt.Println()
	fmt.Println("| model | F32 weights | item | ours s | PyTorch s | ours/PyTorch | ours peak RSS so far | PyTorch peak RSS so far |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|")
	for _, r := range results {
		if r.skipped != "" {
			fmt.Printf("| %s | %.2f GB | skipped: %s | | | | | |\n", r.size.name, r.weightsGB, r.skipped)
			continue
		}
		them := r.torch
		if !torch || them == nil {
			them = &session{secs: map[string]float64{}, peaks: map[string]float64{}}
		}
		fmt.Printf("| %s | %.2f GB | load (warm page cache) | %s | %s | %s | %s | %s |\n", r.size.name, r.weightsGB,
			sec(r.ours.load), sec(them.load), ratioStr(ratio(r.ours.load, them.load)), gb(r.ours.loadPeak), gb(them.loadPeak))
		for _, it := range scaleItems {
			fmt.Printf("| | | %s | %s | %s | %s | %s | %s |\n", it.work, sec(r.ours.secs[it.name]), sec(them.secs[it.name]),
				ratioStr(ratio(r.ours.secs[it.name], them.secs[it.name])), gb(r.ours.peaks[it.name]), gb(them.peaks[it.name]))
		}
		limit := 1.25*r.weightsGB + 1
		fmt.Printf("| | | **peak RSS of the whole session** (target ≤ 1.25 × weights + 1 GB = %.2f GB, and ≤ PyTorch) | | | | **%s** %s | **%s** |\n",
			limit, gb(r.ours.peak), mark(r.ours.peak <= limit && (them.peak == 0 || r.ours.peak <= them.peak)), gb(them.peak))
	}
}

// ratio is a/b, NaN where either side did not run.
func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return math.NaN()
	}
	return a / b
}

// sec is num with "—" for a side that did not run.
func sec(v float64) string {
	if v == 0 {
		return "—"
	}
	return num(v)
}
