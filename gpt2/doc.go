// Package gpt2 runs the model in GoMLX: GPT-2 (gpt2 … gpt2-xl, distilgpt2), and
// beyond it the Llama (Llama 2/3.x, SmolLM2, TinyLlama), Qwen2/2.5, Qwen3 and
// GPT-NeoX (Pythia) families, numerically identical to Hugging Face's
// *ForCausalLM (checked against independent PyTorch references). One forward pass
// serves every family, with each family's differences where they occur (see
// model.go); every activation has a TransformerLens hook name and can be read or
// patched; generation is greedy with a KV cache. The weights are read from a
// Hugging Face folder — safetensors in F32, F16 or BF16, one file or shards — or
// the hub (package hfhub), and kept once in memory. Training (Trainer) and saving
// are for GPT-2. The model's data types are package lm's; the lens is package
// engine's.
package gpt2
