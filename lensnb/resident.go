package lensnb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/resident"
)

// A program that imports lensnb can be started as a resident server by OpenModel
// of another program (package resident): it then loads the model with LoadModel
// and serves it instead of running main.
func init() {
	if !resident.Deferred() {
		ServeIfAsked()
	}
}

// ServeIfAsked serves a model and exits when this program was started as a
// resident server; otherwise it returns at once. lensnb's init calls it, unless
// LOGITLENS_RESIDENT_DEFER=1 (a program with requests of its own registered in
// init then calls it first thing in main).
func ServeIfAsked() {
	resident.ServeIfAsked(func(ref string) (*gpt2.Model, error) {
		return LoadModel(ref, LoadModelOptions{})
	})
}

// OpenModel is LoadModel through a resident server (package resident): the first
// program to open ref starts a server that loads it; later programs — the next
// notebook cells — use that server's weights and compiled graphs, so they neither
// load nor compile again. The model returned works with every function of gpt2 and
// lensnb as a loaded one does, with the same results and errors. With
// LOGITLENS_RESIDENT=0 it is LoadModel itself.
func OpenModel(ref string, opts LoadModelOptions) (*gpt2.Model, error) {
	if !resident.Enabled() {
		return LoadModel(ref, opts)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	m, err := resident.Open(ref, resident.Options{Progress: opts.Progress})
	if err != nil {
		var se *resident.StartError
		if errors.As(err, &se) { // the server could not load ref: say what LoadModel said
			return nil, &ModelError{Ref: ref, Err: errors.New(strings.TrimPrefix(se.Message, fmt.Sprintf("cannot load model %q: ", ref)))}
		}
		return nil, &ModelError{Ref: ref, Err: err}
	}
	if rm, ok := RandomModels[strings.ToLower(ref)]; ok && opts.RandomLabel != "" {
		m.Ref = rm.Name + opts.RandomLabel
	}
	return m, nil
}

// StopResident stops the resident server of ref, if one runs; the next OpenModel
// starts a fresh one (after a model folder changed on disk, for example).
func StopResident(ref string) error {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	return resident.Stop(ref)
}
