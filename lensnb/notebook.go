package lensnb

// Notebook plumbing any notebook needs, not only the course's: turning a model
// reference into a model (the one loader the CLI and the notebooks share), and
// Must / Check, which end a cell's program with the error instead of making every
// cell handle it.

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/logitlens-go/logitlens/demo"
)

// RandomModels are the model references that select a model with random weights
// and GPT-2's real tokenizer, written on first use into the cache: it runs the
// pipeline offline, but its tokens and probabilities are noise.
var RandomModels = map[string]string{
	"tiny":   "2 blocks, d=32: the mechanics in seconds",
	"random": "12 blocks, d=128: GPT-2 small's depth",
	"small":  "all of GPT-2 small's shapes",
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

// LoadModelOptions tunes OpenModel (and engine.LoadModel).
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

// IsRandom reports whether m is one of RandomModels.
func IsRandom(m *Model) bool { return m != nil && m.Random }

// IsDemo reports whether m is DemoModel.
func IsDemo(m *Model) bool { return m != nil && m.Demo }

// ModelError is a model that could not be loaded.
type ModelError struct {
	Ref string
	Err error
	// NotAvailable: a hub model that is neither cached nor downloadable now
	// (rather than a folder or a file that is there but broken).
	NotAvailable bool
}

func (e *ModelError) Unwrap() error { return e.Err }

// Unavailable says whether the model is a hub model that is neither cached nor
// downloadable now (rather than a folder or a file that is there but broken).
func (e *ModelError) Unavailable() bool { return e.NotAvailable }

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
