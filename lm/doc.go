// Package lm holds a language model's data, apart from the engine that runs it:
// its config (config.json), its tokenizer (tokenizer.json), dense float32 arrays,
// the options and results of a run and of a greedy generation, the hook names of
// its activations (TransformerLens's), and its model card. It links no GoMLX, so
// a program that only asks for and reads results — a notebook cell talking to a
// model server — stays small and builds fast; package gpt2 runs the model.
package lm
