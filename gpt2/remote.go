package gpt2

// A model may live in another process — a resident server that loaded the weights
// once and keeps its compiled graphs warm (package resident). The client side is a
// *Model like any other: its Config and Tokenizer are local, and every call that
// needs the weights is sent as a named request. Packages built on gpt2 (the lens)
// register the handlers of their own requests, so that a call is answered by the
// very code that answers it in-process, with the same results and errors.

import (
	"errors"
	"fmt"
	"sync"
)

// Remote carries requests to the process that holds a model's weights.
type Remote interface {
	// Call sends method with args and decodes the answer into reply (a pointer).
	Call(method string, args, reply any) error
}

// RemoteHandler answers one request on the model that holds the weights: decode
// fills its argument (call it exactly once), and the reply is sent back.
type RemoteHandler func(m *Model, decode func(args any) error) (reply any, err error)

var (
	handlersMu sync.RWMutex
	handlers   = map[string]RemoteHandler{}
)

// RegisterRemote makes method answerable by a resident server. Packages call it
// from init for each operation they forward.
func RegisterRemote(method string, h RemoteHandler) {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	if _, dup := handlers[method]; dup {
		panic("gpt2: remote method " + method + " registered twice")
	}
	handlers[method] = h
}

// ServeRemote answers one request with m, which holds the weights.
func ServeRemote(m *Model, method string, decode func(args any) error) (reply any, err error) {
	handlersMu.RLock()
	h, ok := handlers[method]
	handlersMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("the resident server does not know %q (is it from another version of this project? restart it)", method)
	}
	return h(m, decode)
}

// NewRemote returns a model whose weights live behind r: cfg and tok are the
// model's, ref/dir/backend what the holder reports. Runs, generations, weights and
// the lens go through r; Store, Backend and Exec are not available (nil / an error).
func NewRemote(cfg *Config, tok *Tokenizer, ref, dir, backend string, r Remote) *Model {
	return &Model{Config: cfg, Tokenizer: tok, Ref: ref, Dir: dir, BackendName: backend, remote: r}
}

// Remote returns the process that holds m's weights, or nil when m holds them itself.
func (m *Model) Remote() Remote { return m.remote }

// errRemoteGraph is Exec on a model whose weights are in another process.
var errRemoteGraph = errors.New("this model is held by a resident server, so graphs cannot be compiled over its weights here: set LOGITLENS_RESIDENT=0 to load it into this process")

type runBatchArgs struct {
	Batch [][]int
	Opts  RunOptions
}

type generateArgs struct {
	IDs  []int
	Opts GenerateOptions
}

type weightArgs struct {
	Name string
	Rows []int
}

func init() {
	RegisterRemote("gpt2.RunBatch", func(m *Model, decode func(any) error) (any, error) {
		var a runBatchArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return m.RunBatch(a.Batch, a.Opts)
	})
	RegisterRemote("gpt2.Generate", func(m *Model, decode func(any) error) (any, error) {
		var a generateArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return m.Generate(a.IDs, a.Opts)
	})
	RegisterRemote("gpt2.WeightRows", func(m *Model, decode func(any) error) (any, error) {
		var a weightArgs
		if err := decode(&a); err != nil {
			return nil, err
		}
		return m.WeightRows(a.Name, a.Rows...)
	})
	RegisterRemote("gpt2.Loss", func(m *Model, decode func(any) error) (any, error) {
		var rows [][]int
		if err := decode(&rows); err != nil {
			return nil, err
		}
		return m.Loss(rows)
	})
}
