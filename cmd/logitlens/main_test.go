package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/internal/fixture"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	if err := fixture.Write(dir, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, stdout string)
	}{
		{"prompt lens", []string{"--model", dir, "--prompt", "Are cats good?", "--json", filepath.Join(out, "p.json"), "--csv", filepath.Join(out, "p.csv")},
			func(t *testing.T, stdout string) {
				for _, want := range []string{"blocks.1", "embeddings", "␣cats", "actual next", "mode: prompt"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("table lacks %q:\n%s", want, stdout)
					}
				}
				var j struct {
					Mode     string             `json:"mode"`
					InputIDs []int              `json:"input_ids"`
					States   []string           `json:"states"`
					Columns  []map[string]any   `json:"columns"`
					Cells    [][]map[string]any `json:"cells"`
				}
				data, err := os.ReadFile(filepath.Join(out, "p.json"))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &j); err != nil {
					t.Fatal(err)
				}
				if j.Mode != "prompt" || len(j.InputIDs) != 4 || j.InputIDs[0] != 8491 || len(j.States) != 3 || len(j.Cells) != 3 || len(j.Cells[0]) != 4 {
					t.Errorf("json: mode %s ids %v states %v", j.Mode, j.InputIDs, j.States)
				}
				if top := j.Cells[0][0]["top"].([]any); len(top) != 5 {
					t.Errorf("top-5 expected, got %d", len(top))
				}
			}},
		{"narrow terminal", []string{"--model", dir, "--prompt", "The capital of France is obviously Paris, said the correspondent", "--width", "60"},
			func(t *testing.T, stdout string) {
				lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
				for _, line := range lines[1:] { // the first line names the model
					if n := utf8.RuneCountInString(strings.TrimRight(line, " ")); n > 60 {
						t.Errorf("line of %d columns in a 60-column table: %q", n, line)
					}
				}
				// Every cell's probability is printed whole: 3 states × 11 positions.
				if n := len(regexp.MustCompile(`\b[01]\.\d\d\b`).FindAllString(stdout, -1)); n != 3*11 {
					t.Errorf("%d whole probabilities printed, want 33:\n%s", n, stdout)
				}
				if !strings.Contains(stdout, "(positions ") {
					t.Errorf("11 positions in 60 columns should wrap into blocks:\n%s", stdout)
				}
			}},
		{"generation lens raw", []string{"--model", dir, "--prompt", "Are cats good?", "--generate", "10", "--final-norm=false", "--topk", "3", "--json", filepath.Join(out, "g.json")},
			func(t *testing.T, stdout string) {
				var j struct {
					Mode      string `json:"mode"`
					FinalNorm bool   `json:"final_norm"`
					Generated []int  `json:"generated_ids"`
					Cells     [][]struct {
						Top []any `json:"top"`
					} `json:"cells"`
				}
				data, _ := os.ReadFile(filepath.Join(out, "g.json"))
				if err := json.Unmarshal(data, &j); err != nil {
					t.Fatal(err)
				}
				if j.Mode != "generate" || j.FinalNorm || len(j.Generated) != 10 || len(j.Cells[0]) != 10 || len(j.Cells[0][0].Top) != 3 {
					t.Errorf("generation json: %+v", j)
				}
			}},
		{"attribution", []string{"--model", dir, "--prompt", "The capital of France is", "--attribute", " Paris", "--versus", " Rome",
			"--json", filepath.Join(out, "a.json"), "--csv", filepath.Join(out, "a.csv"), "--html", filepath.Join(out, "a.html")},
			func(t *testing.T, stdout string) {
				for _, want := range []string{"direct logit attribution: logit difference ␣Paris − ␣Rome", "= logit", "ln_f bias", "blocks.1.mlp", "pos_embed", "heads at position 4", "head 3"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("table lacks %q:\n%s", want, stdout)
					}
				}
				var j struct {
					Attribution struct {
						Token, Versus int
						Components    []string    `json:"components"`
						Direct        [][]float64 `json:"direct"`
						Bias, Logit   []float64
					} `json:"attribution"`
				}
				data, err := os.ReadFile(filepath.Join(out, "a.json"))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &j); err != nil {
					t.Fatal(err)
				}
				a := j.Attribution
				if a.Token != 6342 || a.Versus != 10598 || len(a.Components) != 6 || len(a.Direct) != 6 || len(a.Direct[0]) != 5 {
					t.Fatalf("attribution json: %+v", a)
				}
				for pos := range a.Logit {
					sum := a.Bias[pos]
					for c := range a.Direct {
						sum += a.Direct[c][pos]
					}
					if d := sum - a.Logit[pos]; d > 1e-4 || d < -1e-4 {
						t.Errorf("json position %d: contributions sum to %g, logit %g", pos, sum, a.Logit[pos])
					}
				}
				csvData, err := os.ReadFile(filepath.Join(out, "a.attribution.csv"))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(csvData)), "\n")
				// Per position: 6 components, 2 blocks × (4 heads + bias), bias, logit.
				if lines[0] != "kind,name,block,head,position,token,value" || len(lines) != 1+5*(6+2*5+2) {
					t.Errorf("attribution csv: %d lines, header %q", len(lines), lines[0])
				}
				page, err := os.ReadFile(filepath.Join(out, "a.html"))
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(page), `class="logitlens-chart"`); n != 5 {
					t.Errorf("html page: %d charts, want the lens heatmap, the lines, and 3 attribution charts", n)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(c.args, &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			c.check(t, stdout.String())
		})
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	if err := fixture.Write(dir, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HOME", t.TempDir())
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--model", dir}, "--prompt is required"},
		{[]string{"--model", "gpt2", "--offline", "--prompt", "hi"}, "--model demo"},
		{[]string{"--model", "not-a-model", "--prompt", "hi"}, "gpt2-medium"},
		{[]string{"--model", dir, "--prompt", "hi", "--topk", "100000"}, "between 1 and 64"},
		{[]string{"--model", dir, "--prompt", "hi", "--target", " cats are"}, "not one"},
		{[]string{"--model", dir, "--prompt", "hi", "--layers", "x"}, "block number"},
		{[]string{"--model", filepath.Join(dir, "nope"), "--prompt", "hi"}, "nope"},
		{[]string{"--model", dir, "--prompt", "hi", "--attribute", " Parisian dream"}, "not one"},
		{[]string{"--model", dir, "--prompt", "hi", "--versus", " Rome"}, "--versus needs --attribute"},
		{[]string{"--model", dir, "--prompt", "hi", "--attribute", " Paris", "--generate", "3"}, "drop --generate"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		err := run(c.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q", c.args, err, c.want)
		}
	}
	// The demo model is suggested only when the model cannot be had, not for a
	// folder that is there but broken.
	broken := t.TempDir()
	if err := fixture.Write(broken, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(broken, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run([]string{"--model", broken, "--prompt", "hi"}, &stdout, &stderr)
	if err == nil || strings.Contains(err.Error(), "--model demo") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("broken folder: got %v, want the missing file named and no demo hint", err)
	}
}
