package notebooks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/resident"
)

// cellSeconds are the code cells' execution times, from the timestamps nbclient
// records in each cell's metadata (execution.iopub.execute_input → shell.execute_reply).
func cellSeconds(t testing.TB, e *executed) (secs []float64, firsts []string) {
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
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			src = src[:i]
		}
		firsts = append(firsts, src)
	}
	return secs, firsts
}

// BenchmarkNotebookResident runs notebook 01 headless on GPT-2-small shapes
// (LOGITLENS_MODEL=small, random weights) twice in one run: every cell loading
// the model itself (LOGITLENS_RESIDENT=0, as before the resident server) and
// through the resident server (started by the first cell that needs the model).
// It prints both totals and every cell's time side by side, and the floor: a
// cell that builds and runs a program touching no model. With
// LOGITLENS_BENCH_MODEL set (a folder, e.g. a gpt2-xl-shaped one from
// `go run ./cmd/bench -scale`), that model is used instead, resident only.
func BenchmarkNotebookResident(b *testing.B) {
	jupyter := needJupyter(b)
	root := repoRoot(b)
	dir := b.TempDir()
	ref, modes := "small", []string{"0", "1"}
	if m := os.Getenv("LOGITLENS_BENCH_MODEL"); m != "" {
		ref, modes = m, []string{"1"}
	}
	runtime := filepath.Join(dir, "rt")
	os.Mkdir(runtime, 0o700)
	base := append(os.Environ(), "LOGITLENS_MODEL="+ref, "LOGITLENS_ROOT="+root, "HF_HUB_OFFLINE=1",
		resident.EnvDir+"="+runtime, resident.EnvIdle+"=10m")
	// The floor: a notebook whose cells only import the course's packages and print.
	floorNB := filepath.Join(dir, "floor.ipynb")
	sol := readNotebook(b, solutions[0])
	var setup string
	for _, c := range sol.cells() {
		if c["cell_type"] == "code" {
			setup = text(c["source"])
			break
		}
	}
	var raw []any
	for i, src := range []string{setup, "import \"github.com/logitlens-go/logitlens/exercises\"", "%%\nfmt.Println(exercises.Prompt)", "%%\nfmt.Println(exercises.MaxLength)"} {
		raw = append(raw, map[string]any{"cell_type": "code", "execution_count": nil, "id": fmt.Sprintf("f%d", i),
			"metadata": map[string]any{}, "outputs": []any{}, "source": lines(src)})
	}
	data, err := encode(notebook{"cells": raw, "metadata": sol["metadata"], "nbformat": 4, "nbformat_minor": 5})
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(floorNB, data, 0o644)
	fe := run(b, jupyter, floorNB, filepath.Join(dir, "floor"), base)
	floor, _ := cellSeconds(b, fe)

	type side struct {
		total float64
		cells []float64
	}
	results := map[string]side{}
	var names []string
	for _, mode := range modes {
		os.Setenv(resident.EnvDir, runtime)
		lensnb.StopResident(ref) // the resident side starts its server in its first cell
		e := run(b, jupyter, filepath.Join(root, "notebooks", solutions[0]), filepath.Join(dir, "out"+mode), append(base, resident.EnvDisable+"="+mode))
		for i, c := range e.nb.cells() {
			if msg := cellError(c); msg != "" {
				b.Fatalf("LOGITLENS_RESIDENT=%s: cell %d failed: %s", mode, i, msg)
			}
		}
		secs, firsts := cellSeconds(b, e)
		results[mode] = side{e.elapsed.Seconds(), secs}
		names = firsts
	}
	lensnb.StopResident(ref)
	os.Unsetenv(resident.EnvDir)

	sortedFloor := append([]float64(nil), floor[2:]...)
	sort.Float64s(sortedFloor)
	fmt.Printf("\nnotebook 01 headless, model %s (%d code cells)\n\n", ref, len(names))
	fmt.Printf("floor: a cell that touches no model (Go build + run of the cell's program): %.2f s\n\n", sortedFloor[len(sortedFloor)/2])
	fmt.Printf("| cell | first line | in-process (s) | resident (s) |\n|---|---|---|---|\n")
	in, res := results["0"], results["1"]
	var worstAfter float64
	firstModel := -1
	for i := range names {
		cell := func(s side) string {
			if i < len(s.cells) {
				return fmt.Sprintf("%.2f", s.cells[i])
			}
			return "–"
		}
		if firstModel < 0 && i < len(res.cells) && res.cells[i] > 2*sortedFloor[0]+1 {
			firstModel = i
		} else if firstModel >= 0 && i < len(res.cells) {
			worstAfter = max(worstAfter, res.cells[i])
		}
		fmt.Printf("| %d | `%s` | %s | %s |\n", i, strings.ReplaceAll(names[i], "|", "\\|"), cell(in), cell(res))
	}
	fmt.Printf("| total | (nbconvert, wall) | %.1f | %.1f |\n\n", in.total, res.total)
	if in.total > 0 {
		fmt.Printf("resident / in-process: %.2f of the time\n", res.total/in.total)
	}
	fmt.Printf("slowest resident cell after the one that started the server (cell %d): %.2f s\n", firstModel, worstAfter)
	b.ReportMetric(res.total, "s-resident")
}
