package engine

import (
	"bytes"
	"strings"
	"testing"
)

// A notebook cell that links the engine by mistake is told so, once, with what to
// do; a program outside GoNB, or one that loads in process on purpose, is not.
func TestNoteIfCell(t *testing.T) {
	for _, c := range []struct {
		gonb, resident, quiet string
		want                  bool
	}{
		{"/tmp/gonb", "", "", true},
		{"", "", "", false},
		{"/tmp/gonb", "0", "", false},
		{"/tmp/gonb", "", "1", false},
	} {
		t.Setenv("GONB_DIR", c.gonb)
		t.Setenv("LOGITLENS_RESIDENT", c.resident)
		t.Setenv(EnvQuiet, c.quiet)
		var buf bytes.Buffer
		noteIfCell(&buf)
		if got := strings.Contains(buf.String(), "links the lens engine") && strings.Contains(buf.String(), "LOGITLENS_RESIDENT=0"); got != c.want {
			t.Errorf("GONB_DIR=%q LOGITLENS_RESIDENT=%q quiet=%q: note %q", c.gonb, c.resident, c.quiet, buf.String())
		}
	}
}
