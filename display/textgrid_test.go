package display

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextGrid(t *testing.T) {
	r := SampleResult(12, 20, true, 5) // hostile tokens: long, with newlines and quotes
	for _, width := range []int{60, 120, 400} {
		g := TextGrid(r, TextGridOptions{Width: width, Probs: true, Corner: "input", NextRow: "actual next"})
		for _, line := range strings.Split(strings.TrimRight(g, "\n"), "\n") {
			if n := utf8.RuneCountInString(strings.TrimRight(line, " ")); n > width {
				t.Errorf("width %d: a line of %d columns: %q", width, n, line)
			}
			if strings.ContainsAny(line, "\r\t") {
				t.Errorf("width %d: a raw control character in %q", width, line)
			}
		}
		if n := len(regexp.MustCompile(`\b[01]\.\d\d\b`).FindAllString(g, -1)); n != 13*20 {
			t.Errorf("width %d: %d whole probabilities, want %d", width, n, 13*20)
		}
		if strings.Count(g, "actual next") != strings.Count(g, "input") || !strings.HasPrefix(g, "input") {
			t.Errorf("width %d: every block needs its header and next-token rows:\n%s", width, g)
		}
		if blocks := strings.Count(g, "(positions "); (width == 400) != (blocks == 0) {
			t.Errorf("width %d: %d continuation blocks", width, blocks)
		}
	}
}
