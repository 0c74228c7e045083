package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/fixture"
)

// TestCommandLine runs the CLI as a user mistypes it: each case's exit status
// and the words its message must have. Help goes to stdout with status 0; a
// command line that does not parse gets 2; an error after the model loaded, 1.
// The files named as outputs must not appear, and no temporary file is left.
func TestCommandLine(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("text"), 0o644)
	text := filepath.Join(dir, "speech.txt")
	os.WriteFile(text, []byte(strings.Repeat("The cat sat on the mat. ", 50)), 0o644)
	lens := []string{"--model", "tiny", "--prompt", "Are cats good?"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // in stdout ("" for none)
		want   []string
	}{
		{"help", []string{"--help"}, 0, "usage: logitlens --prompt", nil},
		{"-h", []string{"-h"}, 0, "logitlens tune --text FILE", nil},
		{"serve help", []string{"serve", "--help"}, 0, "usage: logitlens serve", nil},
		{"tune help", []string{"tune", "-help"}, 0, "usage: logitlens tune", nil},
		{"unknown command", []string{"lens"}, 2, "", []string{`unknown command "lens"`, "logitlens --help"}},
		{"unknown flag", []string{"--prompt", "x", "--bogus"}, 2, "", []string{"-bogus"}},
		{"flag without value", []string{"--prompt"}, 2, "", []string{"needs an argument"}},
		{"no prompt", []string{"--model", "tiny"}, 2, "", []string{"--prompt is required"}},
		{"stray argument", append(lens, "extra"), 2, "", []string{`unexpected argument "extra"`}},
		{"html is a directory", append(lens, "--html", dir), 2, "", []string{"--html " + dir + " is a directory", "lens.html"}},
		{"json ends in a slash", append(lens, "--json", dir+"/"), 2, "", []string{"names a folder", "lens.json"}},
		{"csv under a file", append(lens, "--csv", filepath.Join(file, "x.csv")), 2, "", []string{"is a file, not a folder"}},
		{"topk 0", append(lens, "--topk", "0"), 2, "", []string{"--topk 0", "between 1 and 64"}},
		{"topk too large", append(lens, "--topk", "100000"), 2, "", []string{"between 1 and 64"}},
		{"negative generate", append(lens, "--generate", "-3"), 2, "", []string{"--generate -3 must be positive"}},
		{"huge generate", append(lens, "--generate", "99999"), 2, "", []string{"at most 1024"}},
		{"generate past the context", append(lens, "--generate", "100"), 2, "", []string{"context of 64 tokens", "at most --generate 60"}},
		{"negative stride", append(lens, "--stride", "-1"), 2, "", []string{"--stride -1 must be positive"}},
		{"negative width", append(lens, "--width", "-5"), 2, "", []string{"--width -5"}},
		{"layer out of range", append(lens, "--layers", "7"), 1, "", []string{"layer 7 does not exist", "blocks 0..1"}},
		{"target id out of range", append(lens, "--target", "#99999999"), 1, "", []string{"not a token id"}},
		{"unknown lens", append(lens, "--lens", "fancy"), 2, "", []string{"use logit or tuned"}},
		{"translators missing", append(lens, "--lens", "tuned", "--translators", filepath.Join(dir, "none")), 2, "", []string{"--translators", "logitlens tune"}},
		{"serve: not loopback", []string{"serve", "--addr", "0.0.0.0:8080"}, 2, "", []string{"not a loopback address"}},
		{"serve: bad port", []string{"serve", "--addr", "127.0.0.1:99999"}, 2, "", []string{"from 0 to 65535"}},
		{"serve: stray argument", []string{"serve", "demo"}, 2, "", []string{`unexpected argument "demo"`}},
		{"tune: no --out", []string{"tune", "--text", text}, 2, "", []string{"--out DIR is required"}},
		{"tune: --out is a file", []string{"tune", "--text", text, "--out", file}, 2, "", []string{"is a file: give a folder"}},
		{"tune: text missing", []string{"tune", "--text", filepath.Join(dir, "nope.txt"), "--out", dir}, 2, "", []string{"--text", "no such file"}},
		{"tune: text is a folder", []string{"tune", "--text", dir, "--out", dir}, 2, "", []string{"is a folder: give text files"}},
		{"tune: zero steps", []string{"tune", "--text", text, "--out", dir, "--steps", "0"}, 2, "", []string{"--steps 0"}},
		{"tune: negative lr", []string{"tune", "--text", text, "--out", dir, "--lr", "-1"}, 2, "", []string{"--lr -1 must be a positive number"}},
		{"tune: short sequences", []string{"tune", "--text", text, "--out", dir, "--seq", "1"}, 2, "", []string{"--seq 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainCode(c.args, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit status %d, want %d\nstdout: %.300s\nstderr: %.600s", code, c.code, stdout.String(), stderr.String())
			}
			if c.stdout != "" && !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout lacks %q:\n%.400s", c.stdout, stdout.String())
			}
			if c.code == 0 && (stderr.Len() > 0 || strings.Contains(stdout.String(), "help requested")) {
				t.Errorf("help printed an error: %q", stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("the message lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if root, _ := filepath.Glob("/.tmp-*"); len(leftovers)+len(root) > 0 {
		t.Errorf("temporary files left: %v %v", leftovers, root)
	}
}

// The CLI lenses, attributes and generates on every family's folder.
func TestCLIOnEveryFamily(t *testing.T) {
	for name, spec := range fixture.Families() {
		dir, err := fixture.Cached(spec)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "lens.json")
		var stdout, stderr bytes.Buffer
		args := []string{"--model", dir, "--prompt", "Are cats good?", "--attribute", " good", "--versus", " bad", "--json", out, "--quiet"}
		if code := mainCode(args, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d: %s", name, code, stderr.String())
			continue
		}
		data, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(data), `"blocks.1"`) || !strings.Contains(string(data), `"attribution"`) {
			t.Errorf("%s: the JSON lacks the lens or the attribution (%v)", name, err)
		}
		if code := mainCode([]string{"--model", dir, "--prompt", "Are cats good?", "--generate", "3", "--quiet"}, &stdout, &stderr); code != 0 {
			t.Errorf("%s: generation lens: exit %d: %s", name, code, stderr.String())
		}
	}
}
