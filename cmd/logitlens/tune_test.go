package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTuneThenReadWithTheTunedLens(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	os.WriteFile(text, []byte(strings.Repeat("The cat sat on the mat. Are cats good? The dog ran to the park, and the cat followed it home.\n", 40)), 0o644)
	out := filepath.Join(dir, "lens")
	var b bytes.Buffer
	if err := run([]string{"tune", "--model", "tiny", "--text", text, "--out", out, "--steps", "12", "--rows", "2", "--seq", "24"}, &b, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tokens/s", "KL per layer", "| blocks.0 |", "KL tuned"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tune output lacks %q:\n%s", want, b.String())
		}
	}
	js := filepath.Join(dir, "r.json")
	csv := filepath.Join(dir, "r.csv")
	if err := run([]string{"--model", "tiny", "--prompt", "Are cats good?", "--lens", "tuned", "--translators", out, "--json", js, "--csv", csv, "--quiet"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	j, _ := os.ReadFile(js)
	c, _ := os.ReadFile(csv)
	if !strings.Contains(string(j), `"lens": "tuned"`) || !strings.Contains(strings.SplitN(string(c), "\n", 2)[0], "lens") {
		t.Error("the JSON and CSV of a tuned lens must say so")
	}
	// Translators of another model are refused.
	if err := run([]string{"--model", "random", "--prompt", "x", "--lens", "tuned", "--translators", out, "--quiet"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "logitlens tune") {
		t.Errorf("translators of another model: %v", err)
	}
}

func TestTuneFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--prompt", "x", "--lens", "tuned"}, "needs --translators"},
		{[]string{"--prompt", "x", "--lens", "fancy"}, "use logit or tuned"},
		{[]string{"--prompt", "x", "--translators", "d"}, "for --lens tuned"},
		{[]string{"--prompt", "x", "--lens", "tuned", "--translators", "d", "--final-norm=false"}, "reads through ln_f"},
		{[]string{"tune", "--text", "f"}, "--out DIR is required"},
		{[]string{"tune", "--out", "d"}, "--text FILE"},
		{[]string{"tune", "--out", "d", "--text", "f", "--held-out", "1"}, "--held-out"},
	} {
		if err := run(c.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want %q", c.args, err, c.want)
		}
	}
}
