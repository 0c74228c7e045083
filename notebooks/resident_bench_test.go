package notebooks_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/resident"
)

// cellSeconds are the code cells' execution times, from the timestamps nbclient
// records in each cell's metadata (execution.iopub.execute_input → shell.execute_reply).
func cellSeconds(t testing.TB, e *executed) (secs []float64, firsts, sources []string) {
	t.Helper()
	for _, c := range e.nb.cells() {
		if c["cell_type"] != "code" {
			continue
		}
		ex, _ := meta(c)["execution"].(map[string]any)
		a, _ := ex["iopub.execute_input"].(string)
		b, _ := ex["shell.execute_reply"].(string)
		ta, err1 := time.Parse(time.RFC3339Nano, a)
		tb, err2 := time.Parse(time.RFC3339Nano, b)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: a cell has no execution timestamps (%q, %q)", e.name, a, b)
		}
		secs = append(secs, tb.Sub(ta).Seconds())
		src := strings.TrimSpace(text(c["source"]))
		sources = append(sources, src)
		src = strings.TrimSpace(strings.TrimPrefix(src, "%%"))
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			src = src[:i]
		}
		firsts = append(firsts, src)
	}
	return secs, firsts, sources
}

// baselineCommit is the last commit whose notebook cells linked GoMLX (each cell
// a copy of the resident server): the "before" of BenchmarkNotebookThinClient.
const baselineCommit = "177eb29"

// BenchmarkNotebookThinClient runs notebook 01 headless on GPT-2-small shapes
// (LOGITLENS_MODEL=small, random weights) three times in one run: as it was at
// baselineCommit (a checkout of it in a git worktree, or $LOGITLENS_BENCH_BASELINE),
// and as it is now — cold (the model server not yet built: the first cell that
// needs the model builds it) and warm (built, not running). It prints the totals,
// every cell's time side by side, and the floor: a cell that builds and runs a
// program touching no model. With LOGITLENS_BENCH_MODEL set (a folder), that
// model is used instead.
func BenchmarkNotebookThinClient(b *testing.B) {
	jupyter := needJupyter(b)
	root := repoRoot(b)
	dir := b.TempDir()
	ref := "small"
	if m := os.Getenv("LOGITLENS_BENCH_MODEL"); m != "" {
		ref = m
	}
	baseline := os.Getenv("LOGITLENS_BENCH_BASELINE")
	if baseline == "" {
		baseline = filepath.Join(dir, "baseline")
		if out, err := exec.Command("git", "-C", root, "worktree", "add", "--detach", baseline, baselineCommit).CombinedOutput(); err != nil {
			b.Fatalf("a checkout of %s for the baseline: %v\n%s", baselineCommit, err, out)
		}
		defer exec.Command("git", "-C", root, "worktree", "remove", "--force", baseline).Run()
	}
	env := func(checkout, runtime string, extra ...string) []string {
		os.MkdirAll(runtime, 0o700)
		return append(append(os.Environ(), "LOGITLENS_MODEL="+ref, "LOGITLENS_ROOT="+checkout, "HF_HUB_OFFLINE=1",
			resident.EnvDir+"="+runtime, resident.EnvIdle+"=10m"), extra...)
	}
	floor := floorSeconds(b, jupyter, dir, env(root, filepath.Join(dir, "rt-floor")))

	type side struct {
		name    string
		total   float64
		cells   []float64
		names   []string
		sources []string
	}
	serverCache := filepath.Join(dir, "server-cache")
	var serverPeak int64
	var sides []side
	for _, s := range []struct{ name, checkout, runtime string }{
		{"before (" + baselineCommit + ")", baseline, filepath.Join(dir, "rt-before")},
		{"now, server not built", root, filepath.Join(dir, "rt-cold")},
		{"now, server built", root, filepath.Join(dir, "rt-warm")},
	} {
		e := run(b, jupyter, filepath.Join(s.checkout, "notebooks", solutions[0]), filepath.Join(dir, "out-"+filepath.Base(s.runtime)),
			env(s.checkout, s.runtime, "LOGITLENS_SERVER_CACHE="+serverCache))
		for i, c := range e.nb.cells() {
			if msg := cellError(c); msg != "" {
				b.Fatalf("%s: cell %d failed: %s", s.name, i, msg)
			}
		}
		secs, firsts, sources := cellSeconds(b, e)
		sides = append(sides, side{s.name, e.elapsed.Seconds(), secs, firsts, sources})
		if s.checkout == root {
			serverPeak = max(serverPeak, serverPeakRSS())
		}
		os.Setenv(resident.EnvDir, s.runtime)
		resident.StopAll(ref)
		os.Unsetenv(resident.EnvDir)
		killUnder(s.runtime) // the baseline's server speaks an older protocol
	}
	before, cold, warm := sides[0], sides[1], sides[2]

	fmt.Printf("\nnotebook 01 headless, model %s (%d code cells now, %d before)\n\n", ref, len(warm.names), len(before.names))
	fmt.Printf("floor: a cell that touches no model (Go build + run of the cell's program): %.2f s\n\n", floor)
	fmt.Printf("| cell | first line (now) | %s (s) | %s (s) | %s (s) |\n|---|---|---|---|---|\n", before.name, cold.name, warm.name)
	for i := range max(len(warm.names), len(before.names)) {
		cell := func(s side) string {
			if i < len(s.cells) {
				return fmt.Sprintf("%.2f", s.cells[i])
			}
			return "–"
		}
		name := ""
		if i < len(warm.names) {
			name = strings.ReplaceAll(warm.names[i], "|", "\\|")
		}
		fmt.Printf("| %d | `%s` | %s | %s | %s |\n", i, name, cell(before), cell(cold), cell(warm))
	}
	fmt.Printf("| total | (nbconvert, wall) | %.1f | %.1f | %.1f |\n\n", before.total, cold.total, warm.total)
	fmt.Printf("now / before: %.2f (server built), %.2f (server built by the notebook)\n", warm.total/before.total, cold.total/before.total)
	model := modelCells(warm.sources, warm.cells)
	fmt.Printf("cells that use the loaded model (after the first): median %.2f s, slowest %.2f s, over %d cells\n", median(model), slowest(model), len(model))
	fmt.Printf("the model server's peak RSS over the notebook: %.2f GB\n", float64(serverPeak)/1e9)
	b.ReportMetric(warm.total, "s-now")
	b.ReportMetric(before.total, "s-before")
}

// modelCells are the times of the cells that use the model, after the first one
// (which starts the model server): each uses the model that one loaded.
func modelCells(sources []string, secs []float64) []float64 {
	var out []float64
	seen := false
	for i, src := range sources {
		if !strings.Contains(src, "exercises.Model()") {
			continue
		}
		if seen {
			out = append(out, secs[i])
		}
		seen = true
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func slowest(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// floorSeconds is the median time of a cell that imports the course's packages
// and prints a constant: a Go build and run, no model.
func floorSeconds(b *testing.B, jupyter, dir string, env []string) float64 {
	sol := readNotebook(b, solutions[0])
	var setup string
	for _, c := range sol.cells() {
		if c["cell_type"] == "code" {
			setup = text(c["source"])
			break
		}
	}
	var raw []any
	for i, src := range []string{setup, "import \"github.com/logitlens-go/logitlens/exercises\"", "%%\nfmt.Println(exercises.Prompt)", "%%\nfmt.Println(exercises.MaxLength)", "%%\nfmt.Println(exercises.Prompt, 1)"} {
		raw = append(raw, map[string]any{"cell_type": "code", "execution_count": nil, "id": fmt.Sprintf("f%d", i),
			"metadata": map[string]any{}, "outputs": []any{}, "source": lines(src)})
	}
	data, err := encode(notebook{"cells": raw, "metadata": sol["metadata"], "nbformat": 4, "nbformat_minor": 5})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "floor.ipynb")
	os.WriteFile(path, data, 0o644)
	secs, _, _ := cellSeconds(b, run(b, jupyter, path, filepath.Join(dir, "floor"), env))
	return median(secs[2:])
}

// serverPeakRSS is the largest peak resident set (VmHWM) of the running model
// servers (cmd/logitlens-server processes), in bytes.
func serverPeakRSS() int64 {
	var peak int64
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range procs {
		target, err := os.Readlink(exe)
		if err != nil || filepath.Base(target) != "logitlens-server" {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					peak = max(peak, kb<<10)
				}
			}
		}
	}
	return peak
}

// killUnder ends the processes whose executable lies in dir.
func killUnder(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range procs {
		if target, err := os.Readlink(exe); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(exe))); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
}
