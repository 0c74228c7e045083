package corpus

import (
	"os"
	"strings"
	"testing"
)

func TestDetag(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\tThe/at jury/nn said/vbd ,/, ``/`` no/at evidence/nn ''/'' ./.", `The jury said, "no evidence".`},
		{"\tAtlanta's/np$ recent/jj primary/nn ./.\n\n\tIt/pps was/bedz (/( he/pps said/vbd )/) fine/jj ./.", "Atlanta's recent primary.\nIt was (he said) fine."},
		{"\tdo/do n't/* go/vb !/.", "don't go!"},
		{"", ""},
	} {
		if got := Detag(c.in); got != c.want {
			t.Errorf("Detag(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	root, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Load(root)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	counts := map[string]int{}
	for _, d := range docs {
		counts[d.Source]++
		if strings.Contains(d.Text, "/nn") || strings.Contains(d.Text, "``") {
			t.Fatalf("%s/%s still has tags: %.80q", d.Source, d.Name, d.Text)
		}
	}
	if counts["brown"] != 500 || counts["sotu"] < 200 {
		t.Errorf("documents per source = %v, want 500 Brown texts and 200+ addresses", counts)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "install-deps") {
		t.Errorf("Load of an empty folder: %v, want a message saying how to install the corpus", err)
	}
}
