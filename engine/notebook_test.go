package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

func TestLoadModel(t *testing.T) {
	m, err := LoadModel(" TINY ", lensnb.LoadModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !lensnb.IsRandom(m) || m.Ref != "tiny (random weights)" {
		t.Errorf("tiny: Ref %q, IsRandom %t", m.Ref, lensnb.IsRandom(m))
	}
	m, err = LoadModel("tiny", lensnb.LoadModelOptions{RandomLabel: " (случайные веса)"})
	if err != nil || m.Ref != "tiny (случайные веса)" || !lensnb.IsRandom(m) {
		t.Errorf("RandomLabel: %v %q", err, m.Ref)
	}
	// A folder of the same weights is the same model but not "random" by name.
	dir := t.TempDir()
	if err := fixture.Write(dir, fixture.Tiny()); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadModel(dir, lensnb.LoadModelOptions{}); err != nil || lensnb.IsRandom(m) {
		t.Errorf("a folder: %v, IsRandom %t", err, lensnb.IsRandom(m))
	}

	// A broken folder: a *ModelError naming the file, without the demo hint.
	if err := os.Remove(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel(dir, lensnb.LoadModelOptions{})
	var me *lensnb.ModelError
	if !errors.As(err, &me) || me.Unavailable() || !strings.Contains(err.Error(), "model.safetensors") || strings.Contains(err.Error(), "--model demo") {
		t.Errorf("broken folder: %v", err)
	}
	// A hub model neither cached nor downloadable: Unavailable, with the hint.
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	_, err = LoadModel("gpt2", lensnb.LoadModelOptions{Offline: true})
	if !errors.As(err, &me) || !me.Unavailable() || !strings.Contains(err.Error(), "--model demo") {
		t.Errorf("offline gpt2: %v", err)
	}
}

// gptOf is the gpt2 model behind a model loaded in this process.
func gptOf(m *lensnb.Model) *gpt2.Model { return m.Engine.(*Local).M }
