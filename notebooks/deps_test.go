package notebooks_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// heavy are the packages a notebook cell must not link: the engine (GoMLX and its
// backends, the model, the hub client) lives in the model server. What a cell
// links is what it costs to build (BENCHMARKS.md: a cell that linked GoMLX took
// 5.6–8.6 s to build, a fmt-only one 0.7 s).
var heavy = []string{
	"github.com/gomlx/gomlx",
	"github.com/gomlx/compute",
	"github.com/gomlx/go-xla",
	"github.com/gomlx/go-huggingface",
	"github.com/logitlens-go/logitlens/gpt2",
	"github.com/logitlens-go/logitlens/engine",
	"github.com/logitlens-go/logitlens/hfhub",
	"net/http",
}

// staticPkg draws static pictures: the one package a notebook imports that may
// link gonum/plot.
const staticPkg = "github.com/logitlens-go/logitlens/display/static"

// importPath matches an import path of this module in a cell.
var importPath = regexp.MustCompile(`"(github\.com/logitlens-go/logitlens/[a-z0-9/]+)"`)

// notebookImports returns this module's packages that the notebooks import.
func notebookImports(t *testing.T) []string {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		for _, c := range readNotebook(t, p).cells() {
			if c["cell_type"] != "code" {
				continue
			}
			for _, m := range importPath.FindAllStringSubmatch(text(c["source"]), -1) {
				seen[m[1]] = true
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestCellsLinkNoEngine fails when a package a notebook imports links GoMLX or
// another part of the engine: every cell would then take seconds to build.
func TestCellsLinkNoEngine(t *testing.T) {
	pkgs := notebookImports(t)
	if len(pkgs) < 3 {
		t.Fatalf("found only %v in the notebooks' imports", pkgs)
	}
	for _, pkg := range pkgs {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range heavy {
				if dep == h || strings.HasPrefix(dep, h+"/") {
					t.Errorf("%s (imported by the notebooks) links %s: a cell that imports it links the engine and takes seconds to build; move what it needs to lm or lensnb, or the work to the model server", pkg, dep)
				}
			}
		}
	}
	for _, pkg := range pkgs {
		if out, _ := exec.Command("go", "list", "-deps", pkg).Output(); pkg != staticPkg && strings.Contains(string(out), "gonum.org/v1/plot\n") {
			t.Errorf("%s links gonum/plot: only %s, which draws static pictures, may (a cell that draws none should not pay for it)", pkg, staticPkg)
		}
		if strings.HasSuffix(pkg, "/engine") || strings.HasSuffix(pkg, "/gpt2") {
			t.Errorf("a notebook imports %s", pkg)
		}
	}
}

// taskLeaks are numbers a task asks for (or that depend on the loaded model), in
// the forms text would give them away in, for both models the notebooks run on —
// GPT-2 small (12 blocks, 13 states) and demo (6 blocks, 7 states): none may
// appear in a notebook before the task that asks for it.
var taskLeaks = []struct {
	task     string // the call that asks
	patterns []*regexp.Regexp
}{
	{"exercises.Task3(", []*regexp.Regexp{ // how many blocks
		regexp.MustCompile(`блок(а|ов|и)?\s*(11|5)\b`), regexp.MustCompile(`\b(12|6)\s+блок`), regexp.MustCompile(`blocks\.(11|5)\b`),
		regexp.MustCompile(`Layer\s*(13|7)\b`), regexp.MustCompile(`h\.(11|5)\b`)}},
	{"exercises.Task7(", []*regexp.Regexp{ // how many states (projections per step)
		regexp.MustCompile(`\b(13|7)\s+состояни`), regexp.MustCompile(`Layer\s*(13|7)\b`), regexp.MustCompile(`\b130\b`)}},
	{"exercises.Task8(", []*regexp.Regexp{ // how many hooks: 3 + 6·blocks
		regexp.MustCompile(`\b(75|39)\b`), regexp.MustCompile(`всего точек`), regexp.MustCompile(`len\(lm\.HookNames`)}},
	{"exercises.Task9(", []*regexp.Regexp{ // where step 0 stands in the one pass: position 3
		regexp.MustCompile(`позици\S*\s+` + "`?" + `3\b`), regexp.MustCompile(`\b3\s*(…|, 4)`), regexp.MustCompile(`PromptLen\s*-\s*1`)}},
	{"exercises.Task10(", []*regexp.Regexp{ // states with ResidMid: 1 + 2·blocks
		regexp.MustCompile(`\b(25|13)\s+(состояни|строк)`), regexp.MustCompile(`len\(r\.States\)`)}},
	{"exercises.Task11(", []*regexp.Regexp{ // attribution rows: 2 + 2·blocks
		regexp.MustCompile(`\b(26|14)\s+(строк|част)`), regexp.MustCompile(`len\(a\.Components\)`)}},
	{"exercises.Task12(", []*regexp.Regexp{ // translators: one per block
		regexp.MustCompile(`\b(12|6)\s+переводчик`), regexp.MustCompile(`переводчиков:\s*%d`), regexp.MustCompile(`len\(tl\.W\)`)}},
	{"exercises.Task13(", []*regexp.Regexp{ // their parameters: blocks·(d² + d)
		regexp.MustCompile(`7[ ,_]?087[ ,_]?104`), regexp.MustCompile(`222[ ,_]?336`), regexp.MustCompile(`NLayer\s*\*\s*per`)}},
}

// TestNoNumberBeforeItsTask scans the text of every notebook (solution and
// student) up to each task and fails on a number that task asks for.
func TestNoNumberBeforeItsTask(t *testing.T) {
	var names []string
	for _, s := range solutions {
		names = append(names, s, studentName(s))
	}
	for _, name := range names {
		var before strings.Builder
		asked := 0
		for _, c := range readNotebook(t, name).cells() {
			src := text(c["source"])
			for _, leak := range taskLeaks {
				if !strings.Contains(src, leak.task) {
					continue
				}
				asked++
				for _, p := range leak.patterns {
					if m := p.FindString(before.String()); m != "" {
						t.Errorf("%s: %q appears before %s asks for it", name, m, strings.TrimSuffix(leak.task, "("))
					}
				}
			}
			before.WriteString(src + "\n")
		}
		if asked < 2 {
			t.Errorf("%s: found %d of the tasks taskLeaks knows, want at least two", name, asked)
		}
	}
}
