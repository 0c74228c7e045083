// Package demo locates the demo model: a small GPT-2 (6 blocks, n_embd 192, 6 heads,
// 256-token context, GPT-2's own tokenizer and vocabulary) trained from scratch in
// this repository with cmd/train on public-domain English text — the State of the
// Union addresses and the Brown corpus. It is not OpenAI's GPT-2: it is small and
// saw about two million tokens, but its layers make real predictions, so the logit
// lens shows on it what it shows on GPT-2, offline and in seconds. Its files
// (model.safetensors in F16, config.json, tokenizer.json) and its model card
// (README.md: data, licences, the exact command, losses) are in this folder.
package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Label says what the demo model is, wherever its output is shown.
const Label = "a small GPT-2 trained on public-domain text, not OpenAI's GPT-2"

// EnvDir overrides where the demo model's folder is (a copy elsewhere, or a
// binary built without the source tree).
const EnvDir = "LOGITLENS_DEMO_DIR"

// Dir returns the folder of the demo model: $LOGITLENS_DEMO_DIR when set, else this
// package's folder in the source tree.
func Dir() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", errors.New("demo model: cannot locate the source tree; set " + EnvDir + " to the demo/ folder of the repository")
		}
		dir = filepath.Dir(file)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		return "", fmt.Errorf("demo model: %s has no model.safetensors (%v); check out the repository with its demo/ folder (git lfs is not used), set %s, or retrain it with `go run ./cmd/train -export demo`", dir, err, EnvDir)
	}
	return dir, nil
}
