package lensnb

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/logitlens-go/logitlens/lm"
	"github.com/logitlens-go/logitlens/resident"
)

// OpenModel returns ref (DemoModel, a name of RandomModels, a hub id, a local
// folder; "" is "gpt2") as held by its model server (package resident): the first
// program to open ref builds the server program if needed and starts it, and it
// loads the model; later programs — the next notebook cells — use that server's
// weights and compiled graphs. The model's config and tokenizer are read here from
// the server's model folder; everything that needs the weights is a request, with
// the same results and errors as in-process. A model that cannot be loaded is a
// *ModelError.
//
// With LOGITLENS_RESIDENT=0 the model is loaded in this program instead, which
// must then link the engine (import _ "github.com/logitlens-go/logitlens/engine").
func OpenModel(ref string, opts LoadModelOptions) (*Model, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	if !resident.Enabled() {
		if localLoader == nil {
			return nil, &ModelError{Ref: ref, Err: fmt.Errorf("%s=0 loads the model in this program, which does not link the engine: add import _ \"github.com/logitlens-go/logitlens/engine\" (a notebook cell then takes seconds to build), or unset %s", resident.EnvDisable, resident.EnvDisable)}
		}
		return localLoader(ref, opts)
	}
	conn, err := resident.Open(ref, resident.Options{Progress: opts.Progress, Load: opts.wire(ref)})
	if err != nil {
		if err = fromWire(err); errors.As(err, new(*ModelError)) {
			return nil, err
		}
		var se *resident.StartError
		if errors.As(err, &se) { // the server could not load ref: say what the loader said
			return nil, &ModelError{Ref: ref, Err: errors.New(strings.TrimPrefix(se.Message, fmt.Sprintf("cannot load model %q: ", ref)))}
		}
		return nil, &ModelError{Ref: ref, Err: err}
	}
	info := conn.Info()
	cfg, tok, err := modelFiles(remote{conn}, info.Dir)
	if err != nil {
		conn.Close()
		return nil, &ModelError{Ref: ref, Err: fmt.Errorf("the model server's folder %s: %w", info.Dir, err)}
	}
	return &Model{Config: cfg, Tokenizer: tok, Ref: info.Ref, Dir: info.Dir, Random: info.Kind == "random", Demo: info.Kind == "demo",
		BackendName: fmt.Sprintf("%s (model server, pid %d)", info.Backend, info.PID), Engine: remote{conn}}, nil
}

// modelFiles reads the config and the tokenizer from the model folder dir, or,
// where this machine has no such folder (a server elsewhere), from the server.
func modelFiles(r remote, dir string) (*lm.Config, *lm.Tokenizer, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		cfg, err := lm.LoadConfig(dir)
		if err != nil {
			return nil, nil, err
		}
		tok, err := lm.LoadTokenizer(dir)
		return cfg, tok, err
	}
	config, tokenizer, err := r.ModelFiles()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := lm.ParseConfig(config)
	if err != nil {
		return nil, nil, err
	}
	tok, err := lm.ParseTokenizer(tokenizer)
	return cfg, tok, err
}

// StopResident stops the model servers of ref (whatever their load options), if
// any run; the next OpenModel starts a fresh one (after a model folder changed on
// disk, for example).
func StopResident(ref string) error {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = "gpt2"
	}
	return resident.StopAll(ref)
}

// wire is what of o crosses to a model server for ref (Progress stays here): ""
// for the defaults, so that the common server is found under the same name by
// all; a label for random weights only where ref names a random model.
func (o LoadModelOptions) wire(ref string) string {
	if _, random := RandomModels[strings.ToLower(ref)]; !random {
		o.RandomLabel = ""
	}
	if o.RandomLabel == "" && !o.Offline {
		return ""
	}
	data, _ := json.Marshal(struct {
		RandomLabel string
		Offline     bool
	}{o.RandomLabel, o.Offline})
	return string(data)
}

// ParseLoadOptions reads load options as OpenModel sends them to a model server.
func ParseLoadOptions(s string) (LoadModelOptions, error) {
	var o LoadModelOptions
	if s == "" {
		return o, nil
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return o, fmt.Errorf("load options %q: %w", s, err)
	}
	return o, nil
}

// localLoader loads a model in this program (LOGITLENS_RESIDENT=0): package
// engine registers it, when the program links it.
var localLoader func(ref string, opts LoadModelOptions) (*Model, error)

// RegisterLocalLoader is how package engine makes OpenModel able to load in
// process; no other package needs it.
func RegisterLocalLoader(load func(ref string, opts LoadModelOptions) (*Model, error)) {
	localLoader = load
}
