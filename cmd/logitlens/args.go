package main

// What every subcommand does with its flags: help on request (to stdout, exit
// status 0, as Go's tools do), exit status 2 for a command line that does not
// parse, and output paths checked before any work is done.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
// return flag.ErrHelp; a flag that does not parse is a usageError (the flag
// package has printed the usage to stderr).
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	return nil
}

// checkOutput says what is wrong with an output file's path before any work is
// done: a folder (or a path ending in a separator) where a file is wanted, a
// parent that is a file, or a parent folder that cannot be created.
func checkOutput(flagName, path, example string) error {
	if path == "" {
		return nil
	}
	if strings.HasSuffix(path, string(filepath.Separator)) {
		return usageError{fmt.Errorf("--%s %s names a folder: give a file name, e.g. %s", flagName, path, filepath.Join(path, example))}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usageError{fmt.Errorf("--%s %s is a directory: give a file name, e.g. %s", flagName, path, filepath.Join(path, example))}
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return usageError{fmt.Errorf("--%s %s: %s is a file, not a folder", flagName, path, dir)}
			}
			return nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}
