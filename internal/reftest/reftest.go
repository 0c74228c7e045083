// Package reftest runs the independent PyTorch reference (reference/gpt2_ref.py)
// from Go tests. Without PyTorch the calling test is skipped, except under CI
// (CI=true), where a missing reference is a failure.
package reftest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/browsercheck"
)

// Python is Debian's interpreter, where python3-torch lives.
const Python = "/usr/bin/python3"

// Root returns the repository root (the folder holding go.mod).
func Root(t testing.TB) string { return browsercheck.Root(t) }

// Require skips (or, under CI, fails) the test when PyTorch is not installed.
func Require(t testing.TB) {
	t.Helper()
	if err := exec.Command(Python, "-c", "import torch, numpy").Run(); err != nil {
		msg := "the PyTorch reference needs Debian's python3-torch: run scripts/install-reference.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// Run runs one mode of the GPT-2 reference and decodes its JSON output into out.
func Run(t testing.TB, out any, mode string, args ...string) {
	t.Helper()
	RunScript(t, out, "gpt2_ref.py", mode, args...)
}

// RunScript runs one mode of reference/script (gpt2_ref.py, families_ref.py)
// and decodes its JSON output into out (nil: a mode that writes no JSON, such as
// mkfixture, whose --out is a folder: give it in args).
func RunScript(t testing.TB, out any, script, mode string, args ...string) {
	t.Helper()
	Require(t)
	file := filepath.Join(t.TempDir(), "ref.json")
	cmdArgs := append([]string{filepath.Join(Root(t), "reference", script), mode}, args...)
	if out == nil {
		cmd := exec.Command(Python, cmdArgs...)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=2")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reference %s %s: %v\n%s", script, mode, err, msg)
		}
		return
	}
	cmdArgs = append(cmdArgs, "--out", file)
	cmd := exec.Command(Python, cmdArgs...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=2")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference %s: %v\n%s", mode, err, msg)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("reference %s: decode: %v", mode, err)
	}
}

// IDs formats token ids as the reference's --ids argument.
func IDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
