package lensnb

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/internal/fixture"
)

func TestLoadModel(t *testing.T) {
	m, err := LoadModel(" TINY ", LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !IsRandom(m) || m.Ref != "tiny (random weights)" {
		t.Errorf("tiny: Ref %q, IsRandom %t", m.Ref, IsRandom(m))
	}
	m, err = LoadModel("tiny", LoadModelOptions{RandomLabel: " (случайные веса)"})
	if err != nil || m.Ref != "tiny (случайные веса)" || !IsRandom(m) {
		t.Errorf("RandomLabel: %v %q", err, m.Ref)
	}
	// A folder of the same weights is the same model but not "random" by name.
	dir := t.TempDir()
	if err := fixture.Write(dir, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadModel(dir, LoadModelOptions{}); err != nil || IsRandom(m) {
		t.Errorf("a folder: %v, IsRandom %t", err, IsRandom(m))
	}

	// A broken folder: a *ModelError naming the file, without the demo hint.
	if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel(dir, LoadModelOptions{})
	var me *ModelError
	if !errors.As(err, &me) || me.Unavailable() || !strings.Contains(err.Error(), "model.safetensors") || strings.Contains(err.Error(), "--model demo") {
		t.Errorf("broken folder: %v", err)
	}
	// A hub model neither cached nor downloadable: Unavailable, with the hint.
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	_, err = LoadModel("gpt2", LoadModelOptions{Offline: true})
	if !errors.As(err, &me) || !me.Unavailable() || !strings.Contains(err.Error(), "--model demo") {
		t.Errorf("offline gpt2: %v", err)
	}
}

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
