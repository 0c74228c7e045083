package main

// What every subcommand does with its command line before any work: help on
// request (to stdout, exit status 0, as Go's tools do), exit status 2 for a
// command line that does not parse or cannot run, and the paths and the model it
// names checked before a model loads.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/demo"
	"github.com/logitlens-go/logitlens/hfhub"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// usageError is a command line that cannot be run as given: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode is the exit status for what run returned.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// parse parses args with fs. -h, -help and --help print the usage to stdout and
// return flag.ErrHelp; a flag that does not parse is a usageError that names the
// flag and points to --help (the usage is not printed: it would bury the error).
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		return usageError{fmt.Errorf("%w (see %s --help)", err, fs.Name())}
	}
	return nil
}

// strayArgument explains an argument left after the flags: most often the rest
// of a prompt that was not quoted, or a boolean flag's value given after a space.
func strayArgument(fs *flag.FlagSet) error {
	a := fs.Arg(0)
	if a == "true" || a == "false" {
		return usageError{fmt.Errorf(`unexpected argument %q: a boolean flag takes its value after "=", e.g. --final-norm=false`, a)}
	}
	return usageError{fmt.Errorf(`unexpected argument %q: quote text that has spaces (--prompt "Are cats good?"); every other value belongs to a flag (see %s --help)`, a, fs.Name())}
}

// checkText says whether a flag's text is UTF-8, as the tokenizer needs.
func checkText(flagName, s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	return usageError{fmt.Errorf("--%s %q is not valid UTF-8 text: check the terminal's encoding (LANG=C.UTF-8)", flagName, s)}
}

// checkOutput says what is wrong with an output file's path before any work is
// done: a folder (or a path ending in a separator) where a file is wanted, or a
// folder no file can be made in (see checkParent).
func checkOutput(flagName, path, example string) error {
	if path == "" {
		return nil
	}
	clean := filepath.Clean(path)
	if strings.HasSuffix(path, string(filepath.Separator)) || strings.HasSuffix(path, "/") || filepath.Base(clean) == "." || filepath.Base(clean) == ".." {
		return usageError{fmt.Errorf("--%s %s names a folder: give a file name, e.g. %s", flagName, path, filepath.Join(path, example))}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usageError{fmt.Errorf("--%s %s is a directory: give a file name, e.g. %s", flagName, path, filepath.Join(path, example))}
	}
	return checkParent(flagName, path, filepath.Dir(clean))
}

// checkParent says whether an output can be made in dir. Missing folders are
// made when the output is written (atomicfile does, so `--html out/lens.html`
// works on a fresh checkout): the nearest folder of dir that exists must be a
// folder, not a file, and must take new files (a probe file is made and removed).
func checkParent(flagName, path, dir string) error {
	existing := dir
	for {
		st, err := os.Stat(existing)
		if err == nil && !st.IsDir() {
			return usageError{fmt.Errorf("--%s %s: %s is a file, not a folder", flagName, path, existing)}
		}
		if err == nil {
			break
		}
		up := filepath.Dir(existing)
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || up == existing {
			return usageError{fmt.Errorf("--%s %s: %w", flagName, path, err)}
		}
		existing = up
	}
	probe, err := os.CreateTemp(existing, ".logitlens-probe-*")
	if err != nil {
		return usageError{fmt.Errorf("--%s %s: cannot write in %s (%v): give a path in a folder you can write to", flagName, path, existing, cause(err))}
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// cause is what the system said, without the path a *os.PathError repeats.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkOutputFolder is checkOutput for a folder that is made if missing (tune's
// --out): not a file, and where new files can be made.
func checkOutputFolder(flagName, path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.IsDir():
		return usageError{fmt.Errorf("--%s %s is a file: give a folder (it holds translators.safetensors)", flagName, path)}
	case err == nil:
		return checkParent(flagName, path, path)
	}
	return checkParent(flagName, path, filepath.Dir(filepath.Clean(path)))
}

// checkModel says what is wrong with a model reference before anything loads
// (or listens): a name that is neither the demo, a random model, a local folder
// nor a hub id is a usageError; a local folder that is missing or incomplete is
// the loader's *lensnb.ModelError. It returns the model's config when its
// config.json is on this machine (the demo, a folder, a cached hub model) so that
// flags can be checked against it, else nil (a random model, a hub model to
// download, a config the loader will report on).
func checkModel(ref string) (*lm.Config, error) {
	r := strings.ToLower(strings.TrimSpace(ref))
	if _, random := lensnb.RandomModels[r]; random {
		return nil, nil
	}
	if r == lensnb.DemoModel {
		dir, err := demo.Dir()
		if err != nil {
			return nil, &lensnb.ModelError{Ref: ref, Err: err}
		}
		return readConfig(dir), nil
	}
	if r == "" {
		ref = "gpt2" // as the loader reads it
	}
	dir, err := hfhub.Resolve(ref, hfhub.Options{Offline: true})
	var unavailable *hfhub.UnavailableError
	switch {
	case err == nil:
		return readConfig(dir), nil
	case errors.As(err, &unavailable):
		return nil, nil // to download, or the loader says how to get it
	case hfhub.IsLocalFolder(ref):
		return nil, &lensnb.ModelError{Ref: ref, Err: err}
	}
	return nil, usageError{fmt.Errorf("--model %s: %w; or demo (%s, shipped: no download), or random weights: %s",
		ref, err, demo.Label, strings.Join(lensnb.RandomModelNames(), ", "))}
}

// readConfig is dir's config, or nil when it does not read (the loader says why).
func readConfig(dir string) *lm.Config {
	cfg, err := lm.LoadConfig(dir)
	if err != nil {
		return nil
	}
	return cfg
}
