package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/logitlens-go/logitlens/demo"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/hfhub"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

// randomModel is one of lensnb.RandomModels: its name and its shapes.
type randomModel struct {
	Name string
	Spec fixture.Spec
}

var randomModels = map[string]randomModel{
	"tiny":   {"tiny", fixture.Tiny()},   // 2 blocks, d=32: the mechanics in seconds
	"random": {"random", fixture.Demo()}, // 12 blocks, d=128: GPT-2 small's depth
	"small":  {"small", fixture.Small()}, // all of GPT-2 small's shapes
}

// LoadModel loads ref: DemoModel; a name of RandomModels; a hub id ("gpt2",
// "openai-community/gpt2@main", …) taken from the Hugging Face cache when it is
// there, else downloaded (not under HF_HUB_OFFLINE); or a local folder
// (hfhub.IsLocalFolder decides which). An empty ref is "gpt2". A model that cannot
// be loaded is a *ModelError.
func LoadModel(ref string, opts lensnb.LoadModelOptions) (*lensnb.Model, error) {
	m, err := loadGPT2(ref, opts)
	if err != nil {
		var u *hfhub.UnavailableError
		var me *lensnb.ModelError
		if errors.As(err, &me) && errors.As(err, &u) {
			me.NotAvailable = true
		}
		return nil, err
	}
	return Wrap(m), nil
}

// loadGPT2 is LoadModel's loader.
func loadGPT2(ref string, opts lensnb.LoadModelOptions) (*gpt2.Model, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	if strings.EqualFold(ref, lensnb.DemoModel) {
		dir, err := demo.Dir()
		if err != nil {
			return nil, &lensnb.ModelError{Ref: ref, Err: err}
		}
		m, err := gpt2.LoadDir(dir)
		if err != nil {
			return nil, &lensnb.ModelError{Ref: ref, Err: err}
		}
		m.Ref = lensnb.DemoModel + " (" + demo.Label + ")"
		return m, nil
	}
	if rm, ok := randomModels[strings.ToLower(ref)]; ok {
		dir, err := fixture.Cached(rm.Spec)
		if err != nil {
			return nil, &lensnb.ModelError{Ref: ref, Err: err}
		}
		m, err := gpt2.LoadDir(dir)
		if err != nil {
			return nil, &lensnb.ModelError{Ref: ref, Err: err}
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
	return nil, &lensnb.ModelError{Ref: ref, Err: err}
}

// Wrap returns m for the lens: a lensnb.Model whose engine is m itself, in this
// process.
func Wrap(m *gpt2.Model) *lensnb.Model {
	return &lensnb.Model{Config: m.Config, Tokenizer: m.Tokenizer, Ref: m.Ref, Dir: m.Dir, BackendName: m.BackendName,
		Random: isRandom(m.Dir), Demo: isDemo(m.Dir), Engine: &Local{M: m}}
}

// isRandom reports whether dir is the folder of one of the random models.
func isRandom(dir string) bool {
	for _, rm := range randomModels {
		if d, err := fixture.CachedDir(rm.Spec); err == nil && filepath.Clean(d) == filepath.Clean(dir) {
			return true
		}
	}
	return false
}

// isDemo reports whether dir is the demo model's folder.
func isDemo(dir string) bool {
	d, err := demo.Dir()
	return err == nil && filepath.Clean(d) == filepath.Clean(dir)
}
