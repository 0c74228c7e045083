package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/demo"
	"github.com/logitlens-go/logitlens/internal/browsercheck"
	"github.com/logitlens-go/logitlens/resident"
)

var (
	update = flag.Bool("update", false, "rewrite the student notebooks from the solutions")
	keep   = flag.String("keep", "", "TestNotebooksExecute copies the executed notebooks (with their outputs) into this folder")
)

// Blank marks the place a student fills in.
const Blank = "// Ваш код здесь"

// solutions are the course notebooks; each one with blanks gets a _student twin.
var solutions = []string{"01_logit_lens_by_hand.ipynb", "02_tracing.ipynb", "03_beyond.ipynb", "04_tuned_lens.ipynb"}

// ---------------------------------------------------------------------------
// Notebook files: nbformat 4 JSON, handled as generic maps so that nothing is lost.

type notebook map[string]any

func readNotebook(t testing.TB, path string) notebook {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb
}

func (nb notebook) cells() []map[string]any {
	raw, _ := nb["cells"].([]any)
	out := make([]map[string]any, len(raw))
	for i, c := range raw {
		out[i], _ = c.(map[string]any)
	}
	return out
}

// text joins a notebook string field (a list of lines, or one string).
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, s := range v {
			str, _ := s.(string)
			b.WriteString(str)
		}
		return b.String()
	}
	return ""
}

// lines splits s the way Jupyter stores sources: each line keeps its "\n".
func lines(s string) []any {
	var out []any
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// encode writes nb as Jupyter does (json.dump with indent=1, sorted keys, UTF-8).
func encode(nb notebook) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any(nb)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func meta(c map[string]any) map[string]any {
	m, _ := c["metadata"].(map[string]any)
	return m
}

// studentSource returns the student version of a cell, if the solution has one
// (metadata.logitlens.student).
func studentSource(c map[string]any) (string, bool) {
	ll, _ := meta(c)["logitlens"].(map[string]any)
	s, ok := ll["student"].(string)
	return s, ok
}

// studentVersion derives the student notebook: every cell with a student version
// gets it as its source, loses the solution metadata and its outputs.
func studentVersion(sol notebook) (notebook, bool, error) {
	data, err := json.Marshal(sol) // deep copy
	if err != nil {
		return nil, false, err
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, false, err
	}
	blanks := 0
	for _, c := range nb.cells() {
		src, ok := studentSource(c)
		if !ok {
			continue
		}
		c["source"] = lines(src)
		m := meta(c)
		delete(m, "logitlens")
		var tags []any
		if old, _ := m["tags"].([]any); old != nil {
			for _, tag := range old {
				if tag != "solution" {
					tags = append(tags, tag)
				}
			}
		}
		if c["cell_type"] == "code" {
			tags = append(tags, "blank")
			blanks++
		}
		if len(tags) > 0 {
			m["tags"] = tags
		} else {
			delete(m, "tags")
		}
		if c["cell_type"] == "code" {
			c["outputs"] = []any{}
			c["execution_count"] = nil
		}
	}
	return nb, blanks > 0, nil
}

func studentName(solution string) string {
	return strings.TrimSuffix(solution, ".ipynb") + "_student.ipynb"
}

func isBlank(c map[string]any) bool {
	return c["cell_type"] == "code" && strings.Contains(text(c["source"]), Blank)
}

// ---------------------------------------------------------------------------
// Static checks.

// TestStudentNotebooksInSync: the student notebooks are exactly what the
// solutions generate (go test ./notebooks -run TestStudent -update rewrites them).
func TestStudentNotebooksInSync(t *testing.T) {
	for _, name := range solutions {
		sol := readNotebook(t, name)
		stu, ok, err := studentVersion(sol)
		if err != nil {
			t.Fatal(err)
		}
		path := studentName(name)
		if !ok {
			if _, err := os.Stat(path); err == nil {
				t.Errorf("%s exists but %s has no cells with a student version", path, name)
			}
			continue
		}
		want, err := encode(stu)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range stu.cells() {
			if c["cell_type"] == "code" && slicesContains(meta(c)["tags"], "blank") && !isBlank(c) {
				t.Errorf("%s: cell %d is a blank without %q", path, i, Blank)
			}
		}
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", path)
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with %s (%v): run go test ./notebooks -run TestStudent -update", path, name, err)
		}
	}
}

// studentLeaks are phrases that gave answers away in notebook 01's student
// version before (the model's sizes printed before tasks 3–4, MaxLength explained
// before task 6, the projections counted right before task 7, a suggested route
// that echoes the card's own fields back to the checker): none may come back.
// Notebooks 02–04 may print the model's sizes: their tasks ask for other things,
// and deps_test.go's taskLeaks guards those.
var studentLeaks = []string{
	"exercises.Describe(", "длина всей последовательности", "состояний ×", "сколько шагов и сколько состояний",
	".TotalParams", ".UniqueParams", ".Blocks", ".Outputs", "m.Summary(",
}

// TestStudentBlanks: every solution cell has a student version with a blank
// that differs from it; no line of a solution that the blank leaves out
// (the answer) appears anywhere in the student notebook; and none of
// studentLeaks does.
func TestStudentBlanks(t *testing.T) {
	for _, name := range solutions {
		sol := readNotebook(t, name)
		stu, ok, err := studentVersion(sol)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		var all []string // every line of the student notebook, trimmed
		for _, c := range stu.cells() {
			for _, l := range strings.Split(text(c["source"]), "\n") {
				all = append(all, strings.TrimSpace(l))
			}
		}
		whole := strings.Join(all, "\n")
		for _, leak := range studentLeaks {
			if name != solutions[0] {
				break
			}
			if strings.Contains(whole, leak) {
				t.Errorf("%s contains %q, which gives an answer away", studentName(name), leak)
			}
		}
		blanks := 0
		for i, c := range sol.cells() {
			student, has := studentSource(c)
			solution := slicesContains(meta(c)["tags"], "solution")
			if solution != (has && c["cell_type"] == "code") {
				t.Errorf("%s: cell %d: a code cell tagged solution needs a student version, and only it (tagged %v, has one %v)", name, i, solution, has)
			}
			if !solution {
				continue
			}
			blanks++
			if !strings.Contains(student, Blank) || student == text(c["source"]) {
				t.Errorf("%s: cell %d: the student version is not a blank (%q)", name, i, student)
			}
			kept := map[string]bool{}
			for _, l := range strings.Split(student, "\n") {
				kept[strings.TrimSpace(l)] = true
			}
			for _, l := range strings.Split(text(c["source"]), "\n") {
				l = strings.TrimSpace(l)
				if len(l) < 10 || kept[l] || strings.HasPrefix(l, "//") {
					continue // too short to be an answer, the blank keeps it, or a comment
				}
				if slices.Contains(all, l) {
					t.Errorf("%s: the answer line %q of cell %d appears in the student notebook", studentName(name), l, i)
				}
			}
		}
		if name == solutions[0] && blanks != 7 {
			t.Errorf("%s has %d blank cells, want 7: tasks 1, 2–4, 5, 6 and 7, the projection and softmax", name, blanks)
		}
		if tasks := taskCalls(sol); len(tasks) < 2 {
			t.Errorf("%s has checked tasks %v, want at least two", name, tasks)
		}
	}
}

// taskCall is a call of a task's checker in a cell.
var taskCall = regexp.MustCompile(`exercises\.Task\d+\(`)

// taskCalls lists the task checkers a notebook calls, in order, once each.
func taskCalls(nb notebook) []string {
	var out []string
	for _, c := range nb.cells() {
		for _, call := range taskCall.FindAllString(text(c["source"]), -1) {
			if !slices.Contains(out, call) {
				out = append(out, call)
			}
		}
	}
	return out
}

// TestStudentKeepsRoadmap: the list of sections at the top of a solution (its
// numbered lines) survives into the student version of that cell.
func TestStudentKeepsRoadmap(t *testing.T) {
	item := regexp.MustCompile(`(?m)^\d+\. .*$`)
	for _, name := range solutions {
		sol := readNotebook(t, name)
		stu, ok, err := studentVersion(sol)
		if err != nil || !ok {
			t.Fatalf("%s: no student version (%v)", name, err)
		}
		first := func(nb notebook) string { return text(nb.cells()[0]["source"]) }
		for _, l := range item.FindAllString(first(sol), -1) {
			if !strings.Contains(first(stu), l) {
				t.Errorf("%s: the roadmap line %q is missing from the student version", studentName(name), l)
			}
		}
		if !strings.Contains(first(stu), "версия с пропусками") {
			t.Errorf("%s: the first cell does not say it is the version with blanks", studentName(name))
		}
	}
}

func slicesContains(v any, s string) bool {
	list, _ := v.([]any)
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNotebooksAreClean: the committed notebooks use the gonb kernel, start by
// pointing GoNB at the checkout, and carry no outputs (they would add megabytes
// of inlined ECharts and go stale).
func TestNotebooksAreClean(t *testing.T) {
	files, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(solutions)+1 {
		t.Fatalf("found notebooks %v, want the %d course notebooks and a student version", files, len(solutions))
	}
	for _, f := range files {
		nb := readNotebook(t, f)
		if nb["nbformat"] != 4.0 {
			t.Errorf("%s: nbformat %v, want 4", f, nb["nbformat"])
		}
		ks, _ := nb["metadata"].(map[string]any)["kernelspec"].(map[string]any)
		if ks["name"] != "gonb" {
			t.Errorf("%s: kernel %v, want gonb", f, ks["name"])
		}
		first := true
		for i, c := range nb.cells() {
			if c["cell_type"] != "code" {
				continue
			}
			if first {
				src := text(c["source"])
				if !strings.Contains(src, "go work use") || !strings.Contains(src, "%goworkfix") {
					t.Errorf("%s: the first code cell must set up go.work for the checkout, got %q", f, src)
				}
				first = false
			}
			if outs, _ := c["outputs"].([]any); len(outs) > 0 || c["execution_count"] != nil {
				t.Errorf("%s: cell %d has outputs; clear them before committing", f, i)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Headless execution.

// needJupyter returns the jupyter command, or skips the test when Jupyter or the
// gonb kernel is missing (failing instead under CI=true).
func needJupyter(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("notebook execution skipped in -short mode")
	}
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the notebooks cannot run: %s (run scripts/install-jupyter.sh)", why)
		}
		t.Skipf("notebooks not executed: %s (run scripts/install-jupyter.sh)", why)
	}
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		missing("no jupyter in PATH")
	}
	out, err := exec.Command(jupyter, "kernelspec", "list", "--json").Output()
	if err != nil {
		missing(fmt.Sprintf("jupyter kernelspec list: %v", err))
	}
	var specs struct {
		Kernelspecs map[string]any `json:"kernelspecs"`
	}
	if json.Unmarshal(out, &specs) != nil || specs.Kernelspecs["gonb"] == nil {
		missing("no gonb kernel registered")
	}
	if _, err := exec.Command(jupyter, "nbconvert", "--version").Output(); err != nil {
		missing(fmt.Sprintf("jupyter nbconvert: %v", err))
	}
	return jupyter
}

func repoRoot(t testing.TB) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// executed is a notebook after nbconvert ran it.
type executed struct {
	name    string
	nb      notebook
	elapsed time.Duration
}

// run executes the notebook at path with nbconvert into dir (cell errors are kept
// in the outputs, so that they can be reported cell by cell).
func run(t testing.TB, jupyter, path, dir string, env []string) *executed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	name := filepath.Base(path)
	cmd := exec.CommandContext(ctx, jupyter, "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		"--ExecutePreprocessor.kernel_name=gonb", "--ExecutePreprocessor.timeout=600",
		"--output-dir", dir, "--output", name, path)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("nbconvert %s: %v\n%s", name, err, tail(stderr.String(), 4000))
	}
	if *keep != "" {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil && os.MkdirAll(*keep, 0o755) == nil {
			_ = os.WriteFile(filepath.Join(*keep, name), data, 0o644)
		}
	}
	return &executed{name: name, nb: readNotebook(t, filepath.Join(dir, name)), elapsed: elapsed}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// outputs returns cell i's outputs.
func outputs(c map[string]any) []map[string]any {
	raw, _ := c["outputs"].([]any)
	out := make([]map[string]any, len(raw))
	for i, o := range raw {
		out[i], _ = o.(map[string]any)
	}
	return out
}

// cellText is what a cell printed (stdout and stderr).
func cellText(c map[string]any) string {
	var b strings.Builder
	for _, o := range outputs(c) {
		if o["output_type"] == "stream" {
			b.WriteString(text(o["text"]))
		}
	}
	return b.String()
}

// cellError describes a failed cell, or returns "".
func cellError(c map[string]any) string {
	for _, o := range outputs(c) {
		if o["output_type"] == "error" {
			return fmt.Sprintf("%v: %v\n%s", o["ename"], o["evalue"], tail(cellText(c), 1500))
		}
	}
	return ""
}

// printed is everything the notebook printed.
func (e *executed) printed() string {
	var b strings.Builder
	for _, c := range e.nb.cells() {
		b.WriteString(cellText(c))
	}
	return b.String()
}

// displays returns the displayed data of the given MIME type, in order.
func (e *executed) displays(mime string) []string {
	var out []string
	for _, c := range e.nb.cells() {
		for _, o := range outputs(c) {
			if data, ok := o["data"].(map[string]any); ok && data[mime] != nil {
				out = append(out, text(data[mime]))
			}
		}
	}
	return out
}

// charts counts the interactive ECharts charts among the HTML outputs.
func (e *executed) charts() int {
	n := 0
	for _, h := range e.displays("text/html") {
		n += strings.Count(h, `class="logitlens-chart"`)
	}
	return n
}

// report logs the cell count, the run time and the slowest cells.
func (e *executed) report(t *testing.T) {
	t.Helper()
	code := 0
	type slow struct {
		i int
		d float64
	}
	var slowest slow
	for i, c := range e.nb.cells() {
		if c["cell_type"] != "code" {
			continue
		}
		code++
		ex, _ := meta(c)["execution"].(map[string]any)
		a, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(ex["iopub.execute_input"]))
		b, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(ex["shell.execute_reply"]))
		if d := b.Sub(a).Seconds(); !a.IsZero() && !b.IsZero() && d > slowest.d {
			slowest = slow{i, d}
		}
	}
	t.Logf("%s: %d cells (%d code), ran in %.1fs headless (slowest: cell %d, ~%.0fs)",
		e.name, len(e.nb.cells()), code, e.elapsed.Seconds(), slowest.i, slowest.d)
}

func countOf(s, sub string) int { return strings.Count(s, sub) }

// runChecked executes a notebook (run) and fails on every cell that errs, but
// for a student's blank: it may fail until it is filled in, while the cells
// before the first blank, and those after it, must not.
func runChecked(t *testing.T, jupyter, name, dir string, env []string) *executed {
	t.Helper()
	e := run(t, jupyter, name, dir, env)
	e.report(t)
	student := strings.HasSuffix(name, "_student.ipynb")
	seenBlank := false
	for i, c := range e.nb.cells() {
		blank := isBlank(c)
		seenBlank = seenBlank || blank
		msg := cellError(c)
		switch {
		case msg == "":
		case student && blank:
			t.Logf("blank cell %d: %s", i, msg)
		default:
			t.Errorf("cell %d failed:\n%s\n--- source:\n%s", i, msg, text(c["source"]))
		}
	}
	if student && !seenBlank {
		t.Errorf("%s has no blanks", name)
	}
	return e
}

// TestNotebooksExecute runs every notebook headless on the demo model (a small
// GPT-2 trained in this repository, shipped in demo/; LOGITLENS_DEMO_DIR may point
// at another copy) and checks what the cells produced — on a trained model, so the
// course's conclusions, the patching sweep and the tuned lens are measured for
// real; then exports the first notebook to HTML and opens it in headless Chromium
// to see the interactive heatmap drawn.
func TestNotebooksExecute(t *testing.T) {
	jupyter := needJupyter(t)
	root := repoRoot(t)
	if _, err := demo.Dir(); err != nil {
		t.Fatalf("the notebooks run on the demo model, which is not there: %v", err)
	}
	dir, env := kernelSession(t, "demo", root)
	agree := regexp.MustCompile(`совпало top-1: (\d+) из (\d+) ячеек`)

	checks := map[string]func(t *testing.T, e *executed){
		"01_logit_lens_by_hand.ipynb": func(t *testing.T, e *executed) {
			out := e.printed()
			if n := countOf(out, "✓ Верно!"); n != 9 || strings.Contains(out, "✗ ") {
				t.Errorf("want the 7 task checkers, the projection's and softmax's to print ✓ and none ✗; got %d ✓:\n%s", n, tail(out, 3000))
			}
			for _, s := range []string{"вручную", "project совпадает с lensnb.DecodeLogits", "по косинусу"} {
				if !strings.Contains(out, s) {
					t.Errorf("no %q in the output", s)
				}
			}
			// The course's two conclusions, measured on a trained model: each
			// prints its verdict (which one it is, the model decides).
			for _, n := range []string{"1", "2"} {
				v := regexp.MustCompile(`→ вывод ` + n + ` (подтверждается|не подтверждается)`).FindString(out)
				if v == "" {
					t.Errorf("no verdict line for conclusion %s:\n%s", n, tail(out, 3000))
				}
				t.Logf("on the demo model: %s", v)
			}
			if len(e.displays("image/png")) < 1 {
				t.Error("no static (PNG) heatmap")
			}
			if e.charts() < 1 {
				t.Error("no interactive heatmap in the HTML outputs")
			}
		},
		"01_logit_lens_by_hand_student.ipynb": func(t *testing.T, e *executed) {
			out := e.printed()
			if n, p, s := countOf(out, "✗ Задание"), countOf(out, "✗ Упражнение «проекция вручную»"), countOf(out, "✗ Упражнение «softmax»"); n != 7 || p != 1 || s != 1 || strings.Contains(out, "✓ Верно!") {
				t.Errorf("the untouched blanks must give 7 task hints, the projection's and softmax's (✗) and no ✓; got %d, %d and %d ✗:\n%s", n, p, s, tail(out, 3000))
			}
			if len(e.displays("image/png")) < 1 || e.charts() < 1 {
				t.Error("the cells after the blanks did not draw the heatmaps")
			}
		},
		"02_tracing.ipynb": func(t *testing.T, e *executed) {
			out := e.printed()
			m := agree.FindAllStringSubmatch(out, -1)
			if len(m) != 2 {
				t.Fatalf("want two agreement lines, got %q", m)
			}
			for _, g := range m {
				if g[1] != g[2] || g[1] == "0" {
					t.Errorf("the lenses must agree in every cell: %s", g[0])
				}
			}
			for _, s := range []string{"U+0410", "U+0041", "трассировка", "У модели 39 точек перехвата", "по списку lm.HookNames: 39"} {
				if !strings.Contains(out, s) {
					t.Errorf("no %q in the output", s)
				}
			}
			if e.charts() < 2 {
				t.Errorf("want 2 heatmaps, got %d", e.charts())
			}
		},
		"04_tuned_lens.ipynb": func(t *testing.T, e *executed) {
			out := e.printed()
			// Untrained (identity) translators read exactly as the logit lens.
			if m := agree.FindStringSubmatch(out); m == nil || m[1] != m[2] || m[1] == "0" {
				t.Errorf("identity translators: want every top-1 to agree, got %q", m)
			}
			for _, s := range []string{"наибольшая разница вероятностей 0\n", "ячейкам: 0\n", "линза второго результата: \"tuned\""} {
				if !strings.Contains(out, s) {
					t.Errorf("identity translators: no %q in the output", s)
				}
			}
			if !strings.Contains(out, "6 переводчиков: у эмбеддингов и у блоков 0…4") || !strings.Contains(out, "переводчиков 6, параметров у них 222,336") {
				t.Errorf("tasks 12–13 or the translators' count on demo:\n%s", tail(out, 3000))
			}
			if !strings.Contains(out, "шаг 10/") || !strings.Contains(out, "обучено за") {
				t.Errorf("the training cell printed no progress:\n%s", tail(out, 3000))
			}
			// The held-out table: the tuned lens's KL is below the logit lens's
			// at every intermediate state, and the same at the last one.
			row := regexp.MustCompile(`(?m)^(эмбеддинги|блок \d+)\s+([0-9.]+)\s+([0-9.]+)\s`)
			table := out
			if i := strings.Index(table, "отложенный текст:"); i >= 0 {
				table = table[i:]
			}
			if i := strings.Index(table, "KL настроенной линзы ниже"); i >= 0 {
				table = table[:i]
			}
			rows := row.FindAllStringSubmatch(table, -1)
			if len(rows) < 3 {
				t.Fatalf("no per-state KL table:\n%s", tail(out, 3000))
			}
			var kls []string
			for i, r := range rows[:len(rows)-1] {
				logit, _ := strconv.ParseFloat(r[2], 64)
				tuned, _ := strconv.ParseFloat(r[3], 64)
				kls = append(kls, fmt.Sprintf("%s %s→%s", r[1], r[2], r[3]))
				if !(tuned < logit) {
					t.Errorf("row %d (%s): tuned KL %g is not below the logit lens's %g", i, r[1], tuned, logit)
				}
			}
			if last := rows[len(rows)-1]; last[2] != last[3] {
				t.Errorf("the last state reads the same through both lenses, got %s and %s", last[2], last[3])
			}
			t.Logf("held-out KL, logit → tuned: %s", strings.Join(kls, ", "))
			if !strings.Contains(out, "промежуточных состояний (на всех)") {
				t.Error("the table's verdict line is missing or not «на всех»")
			}
			if e.charts() < 4 {
				t.Errorf("want 2 line charts and 2 heatmaps, got %d charts", e.charts())
			}
			if html := strings.Join(e.displays("text/html"), ""); !strings.Contains(html, "Настроенная линза") || !strings.Contains(html, "flex-wrap") {
				t.Error("no tuned-lens heatmap next to the logit lens's")
			}
		},
		"03_beyond.ipynb": func(t *testing.T, e *executed) {
			out := e.printed()
			if countOf(out, "KL(испорченный ‖ чистый)") != 2 || !strings.Contains(out, "сменился на внимании") {
				t.Errorf("patching or sub-layer output missing:\n%s", tail(out, 3000))
			}
			if countOf(out, "блоков 6 (0…5): на позиции") != 2 {
				t.Errorf("want both patching sweeps to print where the effect crosses one half, out of demo's 6 blocks:\n%s", tail(out, 3000))
			}
			for _, s := range []string{"13 состояний", "14 частей"} { // tasks 10 and 11 on 6 blocks
				if !strings.Contains(out, s) {
					t.Errorf("no %q in the output", s)
				}
			}
			if !strings.Contains(out, "последняя позиция (\"") {
				t.Error("the sweep on the pair that matters to the model printed no table")
			}
			if !strings.Contains(out, "GPU-бэкенда нет") && e.charts() < 4 {
				t.Error("the GPU cell neither skipped nor drew")
			}
			if e.charts() < 3 {
				t.Errorf("want the lines chart and 2 heatmaps, got %d charts", e.charts())
			}
			tables := strings.Join(e.displays("text/html"), "")
			if !strings.Contains(tables, "доля эффекта") {
				t.Error("no patching table")
			}
			// Direct logit attribution: the heatmap, the bars and the heads' heatmap,
			// and the lens = rescaled running sum identity, checked on the data.
			if e.charts() < 7 {
				t.Errorf("want the lines chart, 2 lens heatmaps, the patching heatmap and 3 attribution charts, got %d charts", e.charts())
			}
			if !strings.Contains(tables, "накопленная сумма вкладов") || !strings.Contains(out, "самый большой по модулю вклад головы") {
				t.Errorf("attribution section output missing:\n%s", tail(out, 3000))
			}
			var gap float64
			if i := strings.Index(out, "расходятся не больше чем на "); i < 0 {
				t.Error("the lens/running-sum check printed nothing")
			} else if _, err := fmt.Sscanf(out[i+len("расходятся не больше чем на "):], "%g", &gap); err != nil || gap > 1e-3 {
				t.Errorf("lens vs rescaled running sum: gap %g (%v), want ≤ 1e-3", gap, err)
			}
		},
	}

	var first *executed
	var names []string // each solution, then its student version
	for _, name := range solutions {
		names = append(names, name, studentName(name))
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			e := runChecked(t, jupyter, name, dir, env)
			student := strings.HasSuffix(name, "_student.ipynb")
			if check := checks[name]; check != nil {
				check(t, e)
			}
			out := e.printed()
			if !student && name != solutions[0] { // 01's count includes the projection's and softmax's
				if n, want := countOf(out, "✓ Верно!"), len(taskCalls(e.nb)); n != want || strings.Contains(out, "✗ ") {
					t.Errorf("want each of the %d task checkers %v to print ✓ and none ✗; got %d ✓:\n%s", want, taskCalls(e.nb), n, tail(out, 3000))
				}
			}
			if student && name != studentName(solutions[0]) {
				if n, want := countOf(out, "✗ Задание"), len(taskCalls(e.nb)); n != want || strings.Contains(out, "✓ Верно!") {
					t.Errorf("the untouched blanks must give a hint for each of the %d tasks and no ✓; got %d ✗:\n%s", want, n, tail(out, 3000))
				}
			}
			if name == solutions[0] && !strings.Contains(out, "состояний 7; средняя треть — от «блок 1» до «блок 3»") {
				t.Errorf("conclusion 2 does not name demo's 7 states and its middle third:\n%s", tail(out, 3000))
			}
			if out := e.printed(); strings.Contains(out, "случайные веса") || strings.Contains(out, "Веса случайные") {
				t.Errorf("%s ran on a random-weights model, not on the demo model", name)
			}
			// The charts and tables speak Russian (display.SetLanguage in the
			// notebooks' init_language); phrases, since a token can be any word.
			if student && len(e.displays("text/html")) == 0 {
				t.Error("no HTML output")
			}
			html := strings.Join(e.displays("text/html"), "")
			for _, en := range []string{"Logit lens", "Tuned lens", "rows: states", "probability of the", "Model summary", "Direct logit attribution", "Activation patching"} {
				if strings.Contains(html, en) {
					t.Errorf("an HTML output speaks English: %q", en)
				}
			}
			ru := []string{"строки: состояния", `"блок 0"`}
			if !strings.HasPrefix(name, "02_tracing") { // whose lenses drop the embeddings row (solution and student)
				ru = append(ru, `"эмбеддинги"`)
			}
			for _, w := range ru {
				if e.charts() > 0 && !strings.Contains(html, w) {
					t.Errorf("the charts lack the Russian %q", w)
				}
			}
			if name == solutions[0] {
				first = e
			}
		})
	}
	if first == nil {
		return
	}

	t.Run("html", func(t *testing.T) {
		src := filepath.Join(dir, first.name)
		cmd := exec.Command(jupyter, "nbconvert", "--to", "html", "--output-dir", dir, src)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nbconvert --to html: %v\n%s", err, tail(string(out), 3000))
		}
		page := strings.TrimSuffix(src, ".ipynb") + ".html"
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		html := string(data)
		if !strings.Contains(html, `class="logitlens-chart"`) || !strings.Contains(html, "data:image/png;base64") {
			t.Fatalf("the HTML export lacks the heatmaps (%d bytes)", len(data))
		}
		t.Logf("exported %s (%.1f MB)", filepath.Base(page), float64(len(data))/1e6)
		// nbconvert's template loads require.js (Debian: from its own package) and
		// MathJax; the first is allowed when installed, so the heatmap meets
		// RequireJS as in Jupyter, and the CDNs are blocked, as offline.
		var allow []string
		for _, f := range []string{"/usr/share/javascript/requirejs/require.min.js", "/usr/share/javascript/requirejs/require.js"} {
			if _, err := os.Stat(f); err == nil && strings.Contains(html, "file://"+f) {
				allow = append(allow, "file://"+f)
			}
		}
		res := browsercheck.Run(t, "", []browsercheck.Page{{Name: "notebook-01-export", File: page, AllowRequests: allow}})
		p := res["notebook-01-export"]
		p.Blocked, p.ConsoleErrors = withoutCDN(p.Blocked), withoutCDN(p.ConsoleErrors)
		browsercheck.CheckPage(t, p)
		if len(p.Charts) < 1 || p.Charts[0].PaintedPixels == 0 && p.Charts[0].SVGNodes == 0 {
			t.Errorf("the interactive heatmap was not drawn: %+v", p.Charts)
		}
	})
}

// TestNotebooksExecuteSmall runs the notebooks that print facts about the
// loaded model's depth — 01 (the states and the middle third under conclusion 2,
// tasks 3 and 7) and 03 (where patching's effect crosses one half, out of how
// many blocks; tasks 10–11) — on a model with GPT-2 small's shapes (12 blocks,
// 13 states; random weights), so that those lines are exercised on a second
// depth: TestNotebooksExecute checks the same lines say 6 blocks and 7 states on
// demo. Every structural checker (tasks 1–7, 10–11, the projection, softmax)
// must pass here too. On two cores 01 takes about 80 s here and 03 about 60 s;
// 02 (about 40 s more) is left out to keep this test near two minutes: its
// depth-dependent line is task 8's, which TestCourseTasks checks on 12 blocks. What depends on trained weights —
// the conclusions' verdicts, which blocks patching's effect crosses one half at,
// the two lenses' top-1 agreement on near-ties of random logits — is not
// asserted: on random weights it means nothing. Notebook 04 is left out: it
// trains translators, which on GPT-2 small's shapes takes minutes and on random
// weights has nothing to learn; tasks 12–13 are checked on 12 blocks in package
// exercises (TestCourseTasks).
func TestNotebooksExecuteSmall(t *testing.T) {
	jupyter := needJupyter(t)
	root := repoRoot(t)
	dir, env := kernelSession(t, "small", root)
	want := map[string][]string{
		solutions[0]: {"В модели 12 блоков трансформера", "10 шагов × 13 состояний = 130 проекций",
			"состояний 13; средняя треть — от «блок 3» до «блок 7»", "project совпадает с lensnb.DecodeLogits"},
		solutions[2]: {"25 состояний", "26 частей", "KL(испорченный ‖ чистый)"},
	}
	for _, name := range []string{solutions[0], solutions[2]} {
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			e := runChecked(t, jupyter, name, dir, env)
			out := e.printed()
			checkers := len(taskCalls(e.nb))
			if name == solutions[0] {
				checkers += 2 // the projection's and softmax's
			}
			if n := countOf(out, "✓ Верно!"); n != checkers || strings.Contains(out, "✗ ") {
				t.Errorf("want all %d checkers to print ✓ and none ✗ on GPT-2 small's shapes; got %d ✓:\n%s", checkers, n, tail(out, 3000))
			}
			for _, s := range want[name] {
				if !strings.Contains(out, s) {
					t.Errorf("no %q in the output:\n%s", s, tail(out, 3000))
				}
			}
			if !strings.Contains(out, "случайные веса") {
				t.Errorf("%s did not run on the random-weights model small", name)
			}
			if name == solutions[2] && countOf(out, "блоков 12 (0…11): на позиции") != 2 {
				t.Errorf("want both patching sweeps to print the crossings out of 12 blocks:\n%s", tail(out, 3000))
			}
		})
	}
}

// withoutCDN drops the requests (and the console errors they cause) of
// nbconvert's HTML template, which loads require.js and MathJax from CDNs.
func withoutCDN(list []string) []string {
	var out []string
	for _, s := range list {
		if strings.Contains(s, "cdnjs.cloudflare.com") || strings.Contains(s, "cdn.jsdelivr.net/npm/mathjax") ||
			strings.Contains(s, "mathjax") || strings.Contains(s, "Failed to load resource") {
			continue
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkNotebookCell times single notebook cells to the millisecond (a `!date`
// cell between them; nbclient's own timestamps are whole seconds), on a model
// with GPT-2 small's shapes (random weights): the first cell that needs the model
// when the model server is not built yet (its Go build cache warm) and when it is
// built but not running, then — the model loaded — a lens of a short prompt drawn
// as a heatmap, the model card, and the floor: a cell that prints a constant. It
// runs only with -bench (go test ./notebooks -run XXX -bench NotebookCell
// -benchtime 1x).
func BenchmarkNotebookCell(b *testing.B) {
	jupyter := needJupyter(b)
	root := repoRoot(b)
	dir := b.TempDir()
	sol := readNotebook(b, solutions[0])
	var setup string
	for _, c := range sol.cells() {
		if c["cell_type"] == "code" {
			setup = text(c["source"])
			break
		}
	}
	const stamp = "!date +%s.%N"
	lens := "%%\nm := exercises.Model()\nr := exercises.Must(lensnb.Prompt(m, \"Are cats good?\", lensnb.Options{}))\nexercises.Check(display.ShowHeatmap(r, display.HeatmapOptions{}))"
	card := "%%\nm := exercises.Model()\nfmt.Print(exercises.Card(m, 4))"
	floor := "%%\nfmt.Println(exercises.Prompt)"
	imports := "import (\n\t\"fmt\"\n\n\t\"github.com/logitlens-go/logitlens/display\"\n\t\"github.com/logitlens-go/logitlens/exercises\"\n\t\"github.com/logitlens-go/logitlens/lensnb\"\n)"
	// Cell i+1 of timed is timed by the stamps around it.
	timed := []string{"first model cell", "lens of a short prompt + heatmap", "model card", "floor (prints a constant)", "the stamp cell itself"}
	cells := []string{setup, imports, floor, stamp, lens, stamp, lens, stamp, card, stamp, floor, stamp, stamp}
	var raw []any
	for i, src := range cells {
		raw = append(raw, map[string]any{"cell_type": "code", "execution_count": nil, "id": fmt.Sprintf("t%d", i),
			"metadata": map[string]any{}, "outputs": []any{}, "source": lines(src)})
	}
	data, err := encode(notebook{"cells": raw, "metadata": sol["metadata"], "nbformat": 4, "nbformat_minor": 5})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "cells.ipynb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	serverCache := filepath.Join(dir, "server-cache")
	fmt.Printf("\nnotebook cells, model small (GPT-2 small's shapes, random weights), milliseconds\n\n| cell | server not built (s) | server built, not running (s) |\n|---|---|---|\n")
	var runs [][]float64
	for _, side := range []string{"cold", "built"} {
		runtime := filepath.Join(dir, "rt-"+side)
		os.Mkdir(runtime, 0o700)
		env := append(os.Environ(), "LOGITLENS_MODEL=small", "LOGITLENS_ROOT="+root, "HF_HUB_OFFLINE=1",
			"LOGITLENS_SERVER_CACHE="+serverCache, resident.EnvDir+"="+runtime, resident.EnvIdle+"=5m")
		e := run(b, jupyter, path, filepath.Join(dir, "out-"+side), env)
		c := e.nb.cells()
		var stamps []float64
		for i, src := range cells {
			if msg := cellError(c[i]); msg != "" {
				b.Fatalf("%s: cell %d failed: %s", side, i, msg)
			}
			if src == stamp {
				v, err := strconv.ParseFloat(strings.TrimSpace(cellText(c[i])), 64)
				if err != nil {
					b.Fatalf("no timestamp in cell %d: %q", i, cellText(c[i]))
				}
				stamps = append(stamps, v)
			}
		}
		if len(e.displays("text/html")) < 2 {
			b.Errorf("%s: the lens cells drew no heatmap", side)
		}
		var d []float64
		for i := 1; i < len(stamps); i++ {
			d = append(d, stamps[i]-stamps[i-1])
		}
		runs = append(runs, d)
		os.Setenv(resident.EnvDir, runtime)
		resident.StopAll("small")
		os.Unsetenv(resident.EnvDir)
	}
	for i, name := range timed {
		fmt.Printf("| %s | %.3f | %.3f |\n", name, runs[0][i], runs[1][i])
	}
	b.ReportMetric(runs[1][1], "s/lens-cell")
	b.ReportMetric(runs[1][3], "s/floor-cell")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// kernelSession prepares a run of notebooks on model: a temporary folder (dir)
// and the kernel's environment, with a model cache and a resident-server folder
// of this run's own, this checkout, no hub; the server is stopped at the end.
func kernelSession(t *testing.T, model, root string) (dir string, env []string) {
	dir = t.TempDir()
	// The resident model server the first cell starts lives in a runtime folder
	// of this run: one left by an earlier run would serve a model from that run's
	// (deleted) cache.
	rt := filepath.Join(dir, "resident")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	// The cache is part of a server's key (resident.Stop finds the server by the
	// same environment the cells had), so this process sets it too.
	cache := filepath.Join(dir, "cache") // fresh: the remembered values and the translators are made here
	t.Setenv(resident.EnvDir, rt)
	t.Setenv("LOGITLENS_CACHE", cache)
	t.Cleanup(func() {
		pid := resident.ServerPID(model, "")
		if err := resident.StopAll(model); err != nil {
			t.Logf("stopping the resident server: %v", err)
		}
		t.Logf("stopped the resident server (pid %d; 0: none was running)", pid)
	})
	return dir, append(os.Environ(),
		"LOGITLENS_MODEL="+model,
		"LOGITLENS_CACHE="+cache,
		"LOGITLENS_ROOT="+root,
		"HF_HUB_OFFLINE=1",
		resident.EnvDir+"="+rt,
		resident.EnvIdle+"=5m",
	)
}
