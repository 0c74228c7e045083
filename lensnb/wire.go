package lensnb

// The Engine on a model server's socket (package resident): remote is the client
// side, one request per method; ServeEngine the server side, which answers each
// request with the engine the server holds — the same code that answers it in
// process, so results and errors are the same either way.

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/logitlens-go/logitlens/lm"
	"github.com/logitlens-go/logitlens/resident"
)

// Request arguments.
type (
	runBatchArgs struct {
		Batch [][]int
		Opts  lm.RunOptions
	}
	generateArgs struct {
		IDs  []int
		Opts lm.GenerateOptions
	}
	weightArgs struct {
		Name string
		Rows []int
	}
	promptBatchArgs struct {
		Prompts [][]int
		Opts    Options
	}
	fromGenerationArgs struct {
		Gen  *lm.Generation
		Opts Options
	}
	generateLensArgs struct {
		IDs       []int
		NewTokens int
		Opts      Options
	}
	decodeArgs struct {
		X         *lm.Array
		FinalNorm bool
	}
	compareArgs   struct{ A, B LensSide }
	attributeArgs struct{ IDs, Targets []int }
	tuneArgs      struct {
		IDs      []int
		Opts     TuneOptions
		Progress bool
	}
	tuneReply struct {
		Lens    *TunedLens
		History []TuneStep
	}
)

// remote is an Engine whose weights are behind a model server's socket.
type remote struct{ conn *resident.Conn }

var _ Engine = remote{}

// call sends one request and decodes its answer.
func call[R any](r remote, method string, args any) (R, error) {
	var reply R
	err := r.conn.Call(method, args, &reply, nil)
	return reply, fromWire(err)
}

func (r remote) RunBatch(batch [][]int, opts lm.RunOptions) ([]*lm.RunResult, error) {
	return call[[]*lm.RunResult](r, "RunBatch", runBatchArgs{batch, opts})
}

func (r remote) Generate(ids []int, opts lm.GenerateOptions) (*lm.Generation, error) {
	return call[*lm.Generation](r, "Generate", generateArgs{ids, opts})
}

func (r remote) WeightRows(name string, rows ...int) (*lm.Array, error) {
	return call[*lm.Array](r, "WeightRows", weightArgs{name, rows})
}

func (r remote) Loss(rows [][]int) (float64, error) { return call[float64](r, "Loss", rows) }

func (r remote) WeightsHash() (string, error) { return call[string](r, "WeightsHash", struct{}{}) }

func (r remote) PromptBatch(prompts [][]int, opts Options) ([]*Result, error) {
	res, err := call[[]*Result](r, "PromptBatch", promptBatchArgs{prompts, opts})
	for _, x := range res {
		x.afterWire()
	}
	return res, err
}

func (r remote) FromGeneration(gen *lm.Generation, opts Options) (*Result, error) {
	res, err := call[*Result](r, "FromGeneration", fromGenerationArgs{gen, opts})
	res.afterWire()
	return res, err
}

func (r remote) GenerateLens(ids []int, newTokens int, opts Options) (*Result, error) {
	res, err := call[*Result](r, "GenerateLens", generateLensArgs{ids, newTokens, opts})
	res.afterWire()
	return res, err
}

func (r remote) DecodeLogits(x *lm.Array, finalNorm bool) (*lm.Array, error) {
	return call[*lm.Array](r, "DecodeLogits", decodeArgs{x, finalNorm})
}

func (r remote) Compare(a, b LensSide) (*Comparison, error) {
	return call[*Comparison](r, "Compare", compareArgs{a, b})
}

func (r remote) Attribute(ids []int, targets []int) (*Attribution, error) {
	return call[*Attribution](r, "Attribute", attributeArgs{ids, targets})
}

func (r remote) ModelFiles() (config, tokenizer []byte, err error) {
	files, err := call[[2][]byte](r, "ModelFiles", struct{}{})
	return files[0], files[1], err
}

// TrainTunedLens trains on the server; its progress comes back as events.
func (r remote) TrainTunedLens(ids []int, opts TuneOptions, progress func(TuneProgress)) (*TunedLens, []TuneStep, error) {
	var reply tuneReply
	err := r.conn.Call("TrainTunedLens", tuneArgs{ids, opts, progress != nil}, &reply, func(decode func(any) error) error {
		var p TuneProgress
		if err := decode(&p); err != nil {
			return err
		}
		progress(p)
		return nil
	})
	return reply.Lens, reply.History, fromWire(err)
}

// afterWire restores what gob does not carry: it sends an empty slice as nil,
// and a prompt lens has an empty, not a missing, list of generated tokens
// (JSON "[]", as in-process).
func (r *Result) afterWire() {
	if r != nil && r.GeneratedIDs == nil {
		r.GeneratedIDs = []int{}
	}
}

// ServeEngine answers one request of a model server with e (resident.Handler).
func ServeEngine(e Engine, method string, decode func(any) error, emit func(any) error) (any, error) {
	switch method {
	case "RunBatch":
		var a runBatchArgs
		return with(decode, &a, func() (any, error) { return e.RunBatch(a.Batch, a.Opts) })
	case "Generate":
		var a generateArgs
		return with(decode, &a, func() (any, error) { return e.Generate(a.IDs, a.Opts) })
	case "WeightRows":
		var a weightArgs
		return with(decode, &a, func() (any, error) { return e.WeightRows(a.Name, a.Rows...) })
	case "Loss":
		var rows [][]int
		return with(decode, &rows, func() (any, error) { return e.Loss(rows) })
	case "WeightsHash":
		var a struct{}
		return with(decode, &a, func() (any, error) { return e.WeightsHash() })
	case "PromptBatch":
		var a promptBatchArgs
		return with(decode, &a, func() (any, error) { return e.PromptBatch(a.Prompts, a.Opts) })
	case "FromGeneration":
		var a fromGenerationArgs
		return with(decode, &a, func() (any, error) { return e.FromGeneration(a.Gen, a.Opts) })
	case "GenerateLens":
		var a generateLensArgs
		return with(decode, &a, func() (any, error) { return e.GenerateLens(a.IDs, a.NewTokens, a.Opts) })
	case "DecodeLogits":
		var a decodeArgs
		return with(decode, &a, func() (any, error) { return e.DecodeLogits(a.X, a.FinalNorm) })
	case "Compare":
		var a compareArgs
		return with(decode, &a, func() (any, error) { return e.Compare(a.A, a.B) })
	case "Attribute":
		var a attributeArgs
		return with(decode, &a, func() (any, error) { return e.Attribute(a.IDs, a.Targets) })
	case "ModelFiles":
		var a struct{}
		return with(decode, &a, func() (any, error) {
			c, t, err := e.ModelFiles()
			return [2][]byte{c, t}, err
		})
	case "TrainTunedLens":
		var a tuneArgs
		return with(decode, &a, func() (any, error) {
			var progress func(TuneProgress)
			if a.Progress {
				progress = func(p TuneProgress) { emit(p) }
			}
			tl, hist, err := e.TrainTunedLens(a.IDs, a.Opts, progress)
			return tuneReply{tl, hist}, err
		})
	}
	return nil, fmt.Errorf("the model server does not know %q (is it from another version of this project? restart it)", method)
}

// with decodes a request's arguments into args, then answers it with f.
func with(decode func(any) error, args any, f func() (any, error)) (any, error) {
	if err := decode(args); err != nil {
		return nil, err
	}
	return f()
}

// modelErrorKind is *ModelError's kind on the socket.
const modelErrorKind = "lensnb.ModelError"

// WireKind and WireData let a *ModelError cross a model server's socket with its
// type (resident.WireError).
func (e *ModelError) WireKind() string { return modelErrorKind }

// WireData is the error's fields.
func (e *ModelError) WireData() ([]byte, error) {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return json.Marshal(wireModelError{e.Ref, msg, e.NotAvailable})
}

type wireModelError struct {
	Ref, Message string
	NotAvailable bool
}

// fromWire gives an error from a model server back its type.
func fromWire(err error) error {
	var r *resident.RemoteError
	if !errors.As(err, &r) || r.Kind != modelErrorKind {
		return err
	}
	var w wireModelError
	if json.Unmarshal(r.Data, &w) != nil {
		return err
	}
	return &ModelError{Ref: w.Ref, Err: errors.New(w.Message), NotAvailable: w.NotAvailable}
}
