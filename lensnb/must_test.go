package lensnb

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestMust(t *testing.T) {
	var out bytes.Buffer
	code := -1
	exit, errOut = func(c int) { code = c }, &out
	defer func() { exit, errOut = os.Exit, os.Stderr }()
	if v := Must(7, nil); v != 7 || code != -1 {
		t.Errorf("Must(7, nil) = %d, exit %d", v, code)
	}
	Check(errors.New("boom"))
	if code != 1 || !strings.Contains(out.String(), "boom") {
		t.Errorf("Check(err): exit %d, printed %q", code, out.String())
	}
}
