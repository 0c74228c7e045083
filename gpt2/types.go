package gpt2

// The model's data — its config, tokenizer, arrays, runs, generations and hook
// names — is package lm's, which links no GoMLX, so that a program that only
// reads results (a notebook cell) does not link the engine. gpt2 names those types
// for its own code.

import "github.com/logitlens-go/logitlens/lm"

type (
	Config          = lm.Config
	Tokenizer       = lm.Tokenizer
	Array           = lm.Array
	Patch           = lm.Patch
	PatchOp         = lm.PatchOp
	LogitsMode      = lm.LogitsMode
	RunOptions      = lm.RunOptions
	RunResult       = lm.RunResult
	GenerateOptions = lm.GenerateOptions
	Generation      = lm.Generation
	Step            = lm.Step
)

// Re-exported constants of lm, used throughout the forward pass.
const (
	LogitsAll    = lm.LogitsAll
	LogitsLast   = lm.LogitsLast
	LogitsNone   = lm.LogitsNone
	PatchReplace = lm.PatchReplace
	PatchAdd     = lm.PatchAdd
	PatchZero    = lm.PatchZero
	HookZ        = lm.HookZ
)
