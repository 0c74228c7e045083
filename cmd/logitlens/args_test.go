package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

// cliCase is one command line as a user may type it: the exit status, the words
// the message must have, and whether a model may load before it fails (most
// mistakes must be found before).
type cliCase struct {
	name   string
	args   []string
	code   int
	stdout string   // in stdout ("" for none)
	want   []string // in stderr
	loads  bool
}

// TestCommandLine runs the CLI as a user mistypes it. Help goes to stdout with
// status 0; a command line that does not parse or cannot run gets 2; an error
// after the model loaded, 1. Errors are one message, not the usage; the files
// named as outputs do not appear, and no temporary file is left.
func TestCommandLine(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1") // a hub model never downloads here
	loads := 0
	t.Cleanup(func() { loadEngine = engine.LoadModel })
	loadEngine = func(ref string, o lensnb.LoadModelOptions) (*lensnb.Model, error) {
		loads++
		return engine.LoadModel(ref, o)
	}
	dir := t.TempDir()
	for _, c := range commandLineCases(t, dir) {
		t.Run(c.name, func(t *testing.T) {
			loads = 0
			var stdout, stderr bytes.Buffer
			code := mainCode(c.args, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit status %d, want %d\nstdout: %.300s\nstderr: %.600s", code, c.code, stdout.String(), stderr.String())
			}
			if c.stdout != "" && !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout lacks %q:\n%.400s", c.stdout, stdout.String())
			}
			if c.code == 0 && (stderr.Len() > 0 && !c.loads || strings.Contains(stdout.String(), "help requested")) {
				t.Errorf("help printed an error: %q", stderr.String())
			}
			if c.code != 0 && (strings.Contains(stderr.String(), "flags:\n") || stdout.Len() > 0) {
				t.Errorf("an error printed the usage or to stdout:\nstdout: %.300s\nstderr: %.300s", stdout.String(), stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("the message lacks %q:\n%s", w, stderr.String())
				}
			}
			if loads > 0 && !c.loads {
				t.Errorf("a model was loaded before the error: %s", stderr.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "made", "here", "x.json")); err != nil {
		t.Errorf("an output in missing folders: %v", err)
	}
	outputs, _ := filepath.Glob(filepath.Join(dir, "out.*"))
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if root, _ := filepath.Glob("/.tmp-*"); len(outputs)+len(leftovers)+len(root) > 0 {
		t.Errorf("files left: %v %v %v", outputs, leftovers, root)
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

// commandLineCases are TestCommandLine's cases, with their files in dir.
func commandLineCases(t *testing.T, dir string) []cliCase {
	file := filepath.Join(dir, "a-file")
	text := filepath.Join(dir, "speech.txt")
	short := filepath.Join(dir, "short.txt")
	binary := filepath.Join(dir, "binary.dat")
	blank := filepath.Join(dir, "blank.txt")
	empty := filepath.Join(dir, "empty")
	for p, data := range map[string]string{file: "text", text: strings.Repeat("The cat sat on the mat. ", 50), short: "The cat sat on the mat.", binary: "\xff\xfe\x00bin", blank: " \n"} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(empty, 0o755)
	nope := filepath.Join(dir, "nope")
	out := filepath.Join(dir, "out.json")
	tiny := []string{"--model", "tiny", "--prompt", "Are cats good?"}
	lens := []string{"--model", "demo", "--prompt", "Are cats good?"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	tuneText := []string{"tune", "--text", text, "--out", filepath.Join(dir, "tuned")}
	cases := []cliCase{
		// Help, to stdout with status 0.
		{name: "--help", args: []string{"--help"}, stdout: "usage: logitlens --prompt"},
		{name: "-h", args: []string{"-h"}, stdout: "logitlens tune --text FILE"},
		{name: "-help after flags", args: with(lens, "-help"), stdout: "usage: logitlens --prompt"},
		{name: "help", args: []string{"help"}, stdout: "usage: logitlens --prompt"},
		{name: "help serve", args: []string{"help", "serve"}, stdout: "usage: logitlens serve"},
		{name: "serve --help", args: []string{"serve", "--help"}, stdout: "usage: logitlens serve"},
		{name: "serve -h", args: []string{"serve", "-h"}, stdout: "-addr"},
		{name: "tune --help", args: []string{"tune", "--help"}, stdout: "usage: logitlens tune"},
		{name: "tune -h", args: []string{"tune", "-h"}, stdout: "-held-out"},
		{name: "a prompt that is -h", args: []string{"--model", "tiny", "--prompt", "-h", "--quiet"}, loads: true},
		{name: "help of nothing", args: []string{"help", "me"}, code: 2, want: []string{"help me", "logitlens help serve"}},

		// The command line does not parse.
		{name: "unknown command", args: []string{"lens"}, code: 2, want: []string{`unknown command "lens"`, "logitlens --help"}},
		{name: "empty command", args: []string{""}, code: 2, want: []string{`unknown command ""`}},
		{name: "unknown flag", args: []string{"--prompt", "x", "--bogus"}, code: 2, want: []string{"-bogus", "see logitlens --help"}},
		{name: "serve: unknown flag", args: []string{"serve", "--port", "80"}, code: 2, want: []string{"-port", "see logitlens serve --help"}},
		{name: "tune: unknown flag", args: []string{"tune", "--epochs", "3"}, code: 2, want: []string{"-epochs", "see logitlens tune --help"}},
		{name: "flag without value", args: []string{"--prompt"}, code: 2, want: []string{"needs an argument", "-prompt"}},
		{name: "generate not a number", args: with(lens, "--generate", "ten"), code: 2, want: []string{`invalid value "ten"`, "-generate"}},
		{name: "generate overflows", args: with(lens, "--generate", "1000000000000000000000"), code: 2, want: []string{"out of range", "-generate"}},
		{name: "boolean not a boolean", args: with(lens, "--final-norm=maybe"), code: 2, want: []string{"invalid boolean", "-final-norm"}},
		{name: "boolean value after a space", args: with(lens, "--final-norm", "false"), code: 2, want: []string{`unexpected argument "false"`, "--final-norm=false"}},
		{name: "prompt not quoted", args: []string{"--model", "demo", "--prompt", "Are", "cats", "good?"}, code: 2, want: []string{`unexpected argument "cats"`, "quote"}},
		{name: "stray argument", args: with(lens, "extra"), code: 2, want: []string{`unexpected argument "extra"`}},

		// The lens's flags, checked before the model loads.
		{name: "no prompt", args: []string{"--model", "tiny"}, code: 2, want: []string{"--prompt is required", "--prompt \"Are cats good?\""}},
		{name: "empty prompt", args: []string{"--model", "tiny", "--prompt", ""}, code: 2, want: []string{"--prompt is required"}},
		{name: "prompt not UTF-8", args: []string{"--model", "tiny", "--prompt", "caf\xe9"}, code: 2, want: []string{"--prompt", "not valid UTF-8"}},
		{name: "topk 0", args: with(tiny, "--topk", "0"), code: 2, want: []string{"--topk 0", "between 1 and 64"}},
		{name: "topk negative", args: with(tiny, "--topk", "-1"), code: 2, want: []string{"--topk -1", "between 1 and 64"}},
		{name: "topk too large", args: with(tiny, "--topk", "100000"), code: 2, want: []string{"between 1 and 64"}},
		{name: "negative generate", args: with(tiny, "--generate", "-3"), code: 2, want: []string{"--generate -3 must be positive"}},
		{name: "huge generate", args: with(tiny, "--generate", "999999999"), code: 2, want: []string{"--generate 999999999", "at most the model's context"}},
		{name: "generate past the demo's context", args: with(lens, "--generate", "300"), code: 2, want: []string{"context is 256 tokens", "at most --generate 255"}},
		{name: "generate past tiny's context", args: with(tiny, "--generate", "100"), code: 2, want: []string{"context of 64 tokens", "at most --generate 60"}, loads: true},
		{name: "negative stride", args: with(tiny, "--stride", "-1"), code: 2, want: []string{"--stride -1 must be positive"}},
		{name: "negative width", args: with(tiny, "--width", "-5"), code: 2, want: []string{"--width -5"}},
		{name: "layers not numbers", args: with(tiny, "--layers", "x"), code: 2, want: []string{`"x" is not a block number`, "--layers 0,3,5"}},
		{name: "negative layer", args: with(tiny, "--layers", "-1"), code: 2, want: []string{`"-1" is not a block number`, "from 0"}},
		{name: "empty layer", args: with(tiny, "--layers", "1,,2"), code: 2, want: []string{`"" is not a block number`}},
		{name: "layer past the demo's blocks", args: with(lens, "--layers", "0,7"), code: 2, want: []string{"block 7 does not exist", "blocks 0..5"}},
		{name: "layer past tiny's blocks", args: with(tiny, "--layers", "7"), code: 1, want: []string{"layer 7 does not exist", "blocks 0..1"}, loads: true},
		{name: "target id not a number", args: with(tiny, "--target", "#abc"), code: 2, want: []string{"--target #abc", "token id", `" cat"`}},
		{name: "target id negative", args: with(tiny, "--target", "#-1"), code: 2, want: []string{"--target #-1", "token id"}},
		{name: "target id past the demo's vocabulary", args: with(lens, "--target", "#99999999"), code: 2, want: []string{"not a token id in [0,50257)"}},
		{name: "target id past tiny's vocabulary", args: with(tiny, "--target", "#99999999"), code: 1, want: []string{"not a token id in [0,50257)"}, loads: true},
		{name: "target of two tokens", args: with(tiny, "--target", " cats are"), code: 1, want: []string{"2 tokens, not one", "#id"}, loads: true},
		{name: "unknown lens", args: with(tiny, "--lens", "fancy"), code: 2, want: []string{`--lens "fancy"`, "use logit or tuned"}},
		{name: "tuned lens without translators", args: with(tiny, "--lens", "tuned"), code: 2, want: []string{"needs --translators", "logitlens tune"}},
		{name: "translators without the tuned lens", args: with(tiny, "--translators", empty), code: 2, want: []string{"--translators is for --lens tuned"}},
		{name: "tuned lens without ln_f", args: with(tiny, "--lens", "tuned", "--translators", empty, "--final-norm=false"), code: 2, want: []string{"drop --final-norm=false"}},
		{name: "translators missing", args: with(tiny, "--lens", "tuned", "--translators", nope), code: 2, want: []string{"--translators " + nope + " does not exist", "logitlens tune"}},
		{name: "translators a file", args: with(tiny, "--lens", "tuned", "--translators", file), code: 2, want: []string{"is a file", "the folder logitlens tune wrote"}},
		{name: "translators an empty folder", args: with(tiny, "--lens", "tuned", "--translators", empty), code: 2, want: []string{"no translators.safetensors", "logitlens tune"}},
		{name: "versus without attribute", args: with(tiny, "--versus", " Rome"), code: 2, want: []string{"--versus needs --attribute"}},
		{name: "versus the same token", args: with(tiny, "--attribute", " Paris", "--versus", " Paris"), code: 2, want: []string{"both", "two different tokens"}},
		{name: "attribute a generation", args: with(tiny, "--attribute", " Paris", "--generate", "3"), code: 2, want: []string{"drop --generate"}},
		{name: "resid-mid of a generation", args: with(tiny, "--resid-mid", "--generate", "3"), code: 2, want: []string{"--resid-mid is for the prompt lens"}},

		// Output paths, checked before the model loads.
		{name: "html is a directory", args: with(lens, "--html", dir), code: 2, want: []string{"--html " + dir + " is a directory", filepath.Join(dir, "lens.html")}},
		{name: "json ends in a slash", args: with(lens, "--json", dir+"/"), code: 2, want: []string{"names a folder", "lens.json"}},
		{name: "json is .", args: with(lens, "--json", "."), code: 2, want: []string{"names a folder", "lens.json"}},
		{name: "csv under a file", args: with(lens, "--csv", filepath.Join(file, "x.csv")), code: 2, want: []string{"is a file, not a folder"}},
		{name: "json in a folder under a file", args: with(lens, "--json", filepath.Join(file, "sub", "x.json")), code: 2, want: []string{filepath.Join(file, "sub", "x.json") + ": " + file + " is a file, not a folder"}},
		{name: "json in missing folders (made)", args: with(tiny, "--quiet", "--json", filepath.Join(dir, "made", "here", "x.json")), loads: true},
		{name: "json and a bad html", args: with(lens, "--json", out, "--html", dir), code: 2, want: []string{"is a directory"}},

		// Models.
		{name: "unknown model", args: []string{"--model", "gpt-5", "--prompt", "hi"}, code: 2, want: []string{`unknown model "gpt-5"`, "gpt2-medium", "demo", "tiny"}},
		{name: "model folder missing", args: []string{"--model", nope, "--prompt", "hi"}, code: 1, want: []string{"does not exist"}},
		{name: "model folder empty", args: []string{"--model", empty, "--prompt", "hi"}, code: 1, want: []string{"missing config.json"}},
		{name: "hub model offline", args: []string{"--model", "gpt2", "--offline", "--prompt", "hi"}, code: 1, want: []string{"not in the Hugging Face cache", "--model demo"}, loads: true},

		// serve, before it listens.
		{name: "serve: not loopback", args: []string{"serve", "--addr", "0.0.0.0:8080"}, code: 2, want: []string{"not a loopback address", "127.0.0.1"}},
		{name: "serve: port out of range", args: []string{"serve", "--addr", "127.0.0.1:99999"}, code: 2, want: []string{"from 0 to 65535"}},
		{name: "serve: negative port", args: []string{"serve", "--addr", "127.0.0.1:-1"}, code: 2, want: []string{"from 0 to 65535"}},
		{name: "serve: no port", args: []string{"serve", "--addr", "localhost"}, code: 2, want: []string{"missing port", "127.0.0.1:8080"}},
		{name: "serve: stray argument", args: []string{"serve", "demo"}, code: 2, want: []string{`unexpected argument "demo"`, "--model"}},
		{name: "serve: unknown model", args: []string{"serve", "--model", "nosuch", "--addr", "127.0.0.1:0"}, code: 2, want: []string{`unknown model "nosuch"`, "demo"}},
		{name: "serve: model folder missing", args: []string{"serve", "--model", nope, "--addr", "127.0.0.1:0"}, code: 1, want: []string{"does not exist"}},

		// tune, before and after the model loads.
		{name: "tune: no --out", args: []string{"tune", "--text", text}, code: 2, want: []string{"--out DIR is required"}},
		{name: "tune: no --text", args: []string{"tune", "--out", dir}, code: 2, want: []string{"--text FILE"}},
		{name: "tune: --out is a file", args: []string{"tune", "--text", text, "--out", file}, code: 2, want: []string{"is a file: give a folder"}},
		{name: "tune: --out under a file", args: []string{"tune", "--text", text, "--out", filepath.Join(file, "lens")}, code: 2, want: []string{file + " is a file, not a folder"}},
		{name: "tune: text missing", args: []string{"tune", "--text", filepath.Join(dir, "nope.txt"), "--out", dir}, code: 2, want: []string{"--text", "no such file"}},
		{name: "tune: text is a folder", args: []string{"tune", "--text", dir, "--out", dir}, code: 2, want: []string{"is a folder: give text files"}},
		{name: "tune: text not UTF-8", args: []string{"tune", "--text", binary, "--out", dir}, code: 2, want: []string{"is not UTF-8 text"}},
		{name: "tune: text blank", args: []string{"tune", "--text", blank, "--out", dir}, code: 2, want: []string{"is empty"}},
		{name: "tune: two files after one --text", args: []string{"tune", "--text", text, short, "--out", dir}, code: 2, want: []string{"unexpected argument", "--text a.txt --text b.txt"}},
		{name: "tune: zero steps", args: with(tuneText, "--steps", "0"), code: 2, want: []string{"--steps 0 must be at least 1"}},
		{name: "tune: negative rows", args: with(tuneText, "--rows", "-2"), code: 2, want: []string{"--rows -2 must be at least 1"}},
		{name: "tune: negative lr", args: with(tuneText, "--lr", "-1"), code: 2, want: []string{"--lr -1 must be a positive number"}},
		{name: "tune: lr NaN", args: with(tuneText, "--lr", "NaN"), code: 2, want: []string{"--lr NaN must be a positive number"}},
		{name: "tune: held-out 1", args: with(tuneText, "--held-out", "1"), code: 2, want: []string{"--held-out 1 must be in [0, 1)"}},
		{name: "tune: short sequences", args: with(tuneText, "--seq", "1"), code: 2, want: []string{"--seq 1"}},
		{name: "tune: sequences past the demo's context", args: with(tuneText, "--seq", "100000"), code: 2, want: []string{"--seq 100000 is longer than the model's context of 256", "at most --seq 256"}},
		{name: "tune: unknown model", args: with(tuneText, "--model", "nosuch"), code: 2, want: []string{`unknown model "nosuch"`}},
		{name: "tune: sequences past tiny's context", args: with(tuneText, "--model", "tiny"), code: 2, want: []string{"--seq 128 is longer than the model's context of 64", "at most --seq 64"}, loads: true},
		{name: "tune: too little text", args: []string{"tune", "--model", "tiny", "--text", short, "--out", filepath.Join(dir, "tuned"), "--seq", "32"}, code: 2, want: []string{"has 8 tokens", "needs at least 33", "smaller --seq"}, loads: true},
	}
	if st, err := os.Stat("/proc/self"); err == nil && st.IsDir() { // a folder where no file can be made
		cases = append(cases,
			cliCase{name: "json where no file can be made", args: with(lens, "--json", "/proc/logitlens/x.json"), code: 2, want: []string{"cannot write in /proc", "a folder you can write to"}},
			cliCase{name: "tune: --out where no file can be made", args: with(tuneText[:3], "--out", "/proc/logitlens"), code: 2, want: []string{"cannot write in /proc"}})
	}
	return cases
}
