package lensnb

// Notebook plumbing any notebook needs, not only the course's: turning a model
// reference into a model (the one loader the CLI and the notebooks share), and
// Must / Check, which end a cell's program with the error instead of making every
// cell handle it.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/logitlens-go/logitlens/demo"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/hfhub"
	"github.com/logitlens-go/logitlens/internal/fixture"
)

// RandomModel is a model with random weights and GPT-2's real tokenizer, written
// on first use into the cache: it runs the pipeline offline, but its tokens and
// probabilities are noise.
type RandomModel struct {
	Name string
	Spec fixture.Spec
}

// RandomModels are the model references that select a random-weights model.
var RandomModels = map[string]RandomModel{
	"tiny":   {"tiny", fixture.Tiny()},   // 2 blocks, d=32: the mechanics in seconds
	"random": {"random", fixture.Demo()}, // 12 blocks, d=128: GPT-2 small's depth
	"small":  {"small", fixture.Small()}, // all of GPT-2 small's shapes
}

// RandomModelNames lists RandomModels' names, sorted.
func RandomModelNames() []string {
	var names []string
	for n := range RandomModels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadModelOptions tunes LoadModel.
type LoadModelOptions struct {
	// Progress receives download progress (a hub model not yet cached); nil: quiet.
	Progress io.Writer
	// RandomLabel is appended to a random model's Ref, so that every table, chart
	// and JSON made from it says so (default " (random weights)").
	RandomLabel string
	// Offline never contacts the hub (also under HF_HUB_OFFLINE=1).
	Offline bool
}

// DemoModel is the reference of the demo model (package demo): a small GPT-2
// trained in this repository on public-domain English, shipped with it, so it loads
// offline. Its Ref says what it is (demo.Label).
const DemoModel = "demo"

// LoadModel loads ref: DemoModel; a name of RandomModels; a hub id ("gpt2",
// "openai-community/gpt2@main", …) taken from the Hugging Face cache when it is
// there, else downloaded (not under HF_HUB_OFFLINE); or a local folder
// (hfhub.IsLocalFolder decides which). An empty ref is "gpt2". A model that cannot
// be loaded is a *ModelError.
func LoadModel(ref string, opts LoadModelOptions) (*gpt2.Model, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	if strings.EqualFold(ref, DemoModel) {
		dir, err := demo.Dir()
		if err != nil {
			return nil, &ModelError{Ref: ref, Err: err}
		}
		m, err := gpt2.LoadDir(dir)
		if err != nil {
			return nil, &ModelError{Ref: ref, Err: err}
		}
		m.Ref = DemoModel + " (" + demo.Label + ")"
		return m, nil
	}
	if rm, ok := RandomModels[strings.ToLower(ref)]; ok {
		dir, err := fixture.Cached(rm.Spec)
		if err != nil {
			return nil, &ModelError{Ref: ref, Err: err}
		}
		m, err := gpt2.LoadDir(dir)
		if err != nil {
			return nil, &ModelError{Ref: ref, Err: err}
		}
		label := opts.RandomLabel
		if label == "" {
			label = " (random weights)"
		}
		m.Ref = rm.Name + label
		return m, nil
	}
	// The cache (or the folder) first, quietly; then the hub, with progress.
	m, err := gpt2.LoadWith(ref, gpt2.LoadOptions{Offline: true})
	if err == nil {
		return m, nil
	}
	if !opts.Offline && os.Getenv("HF_HUB_OFFLINE") == "" && !hfhub.IsLocalFolder(ref) {
		if m, err = gpt2.LoadWith(ref, gpt2.LoadOptions{Progress: opts.Progress}); err == nil {
			return m, nil
		}
	}
	return nil, &ModelError{Ref: ref, Err: err}
}

// IsRandom reports whether m is one of RandomModels (it was loaded from their
// folder in the fixture cache).
func IsRandom(m *gpt2.Model) bool {
	if m == nil {
		return false
	}
	for _, rm := range RandomModels {
		if dir, err := fixture.CachedDir(rm.Spec); err == nil && filepath.Clean(dir) == filepath.Clean(m.Dir) {
			return true
		}
	}
	return false
}

// IsDemo reports whether m was loaded as DemoModel.
func IsDemo(m *gpt2.Model) bool {
	if m == nil {
		return false
	}
	dir, err := demo.Dir()
	return err == nil && filepath.Clean(dir) == filepath.Clean(m.Dir)
}

// ModelError is a model that could not be loaded.
type ModelError struct {
	Ref string
	Err error
}

func (e *ModelError) Unwrap() error { return e.Err }

// Unavailable says whether the model is a hub model that is neither cached nor
// downloadable now (rather than a folder or a file that is there but broken).
func (e *ModelError) Unavailable() bool {
	var u *hfhub.UnavailableError
	return errors.As(e.Err, &u)
}

func (e *ModelError) Error() string {
	if !e.Unavailable() {
		return fmt.Sprintf("cannot load model %q: %v", e.Ref, e.Err)
	}
	return fmt.Sprintf("cannot load model %q: %v\n(without a download: --model demo, or LOGITLENS_MODEL=demo in a notebook — %s, shipped with the repository; random weights: %s)",
		e.Ref, e.Err, demo.Label, strings.Join(RandomModelNames(), ", "))
}

var (
	// exit ends the program; replaced in tests.
	exit = os.Exit
	// errOut receives Must's reports.
	errOut io.Writer = os.Stderr
)

// Must returns v, or prints err (in a notebook: under the cell) and ends the
// cell's program with exit status 1:
//
//	ids := lensnb.Must(m.Tokenizer.Encode("Are cats good?"))
func Must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(errOut, "Error:", err)
		exit(1)
	}
	return v
}

// Check is Must for calls that return only an error, such as display's Show:
//
//	lensnb.Check(display.ShowHeatmap(r, display.HeatmapOptions{}))
func Check(err error) { Must(struct{}{}, err) }
