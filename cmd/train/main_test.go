package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/corpus"
	"github.com/logitlens-go/logitlens/gpt2"
)

func needCorpus(t *testing.T) {
	t.Helper()
	root, err := corpus.Dir()
	if err == nil {
		_, err = corpus.SOTU(root)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// logRows reads log.tsv: step → (loss, validation loss; NaN when absent).
func logRows(t *testing.T, path string) map[int][2]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int][2]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Split(line, "\t")
		step, _ := strconv.Atoi(f[0])
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return -1
			}
			return v
		}
		rows[step] = [2]float64{num(f[1]), num(f[2])}
	}
	return rows
}

func TestShortTrainingRunLearnsAndResumes(t *testing.T) {
	needCorpus(t)
	dir := t.TempDir()
	flags := []string{"-layers", "2", "-heads", "2", "-embd", "32", "-ctx", "32", "-batch", "4", "-steps", "40", "-warmup", "5",
		"-lr", "3e-3", "-eval-every", "20", "-eval-rows", "8", "-ckpt-every", "10"}
	var out bytes.Buffer
	// Interrupted at step 20, then resumed to the end.
	if err := run(append(flags, "-out", filepath.Join(dir, "a"), "-stop-at", "20"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stopped at step 20") {
		t.Errorf("output lacks the stop message:\n%s", out.String())
	}
	export := filepath.Join(dir, "model")
	if err := run(append(flags, "-out", filepath.Join(dir, "a"), "-export", export), &out); err != nil {
		t.Fatal(err)
	}
	// Uninterrupted.
	if err := run(append(flags, "-out", filepath.Join(dir, "b")), io.Discard); err != nil {
		t.Fatal(err)
	}
	a, b := logRows(t, filepath.Join(dir, "a", "log.tsv")), logRows(t, filepath.Join(dir, "b", "log.tsv"))
	if a[10][0] < a[40][0]+0.5 || a[40][1] >= a[0][1]-0.5 {
		t.Errorf("training did not learn: loss %.3f at step 10 → %.3f at 40; validation %.3f → %.3f", a[10][0], a[40][0], a[0][1], a[40][1])
	}
	for _, step := range []int{30, 40} {
		if d := a[step][0] - b[step][0]; d > 1e-3 || d < -1e-3 {
			t.Errorf("step %d: resumed run's loss %.5f, uninterrupted %.5f", step, a[step][0], b[step][0])
		}
	}
	if !strings.Contains(out.String(), "ETA") || !strings.Contains(out.String(), "tokens/s") {
		t.Errorf("progress lines lack tokens/s or ETA:\n%s", out.String())
	}
	m, err := gpt2.LoadDir(export)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.NLayer != 2 || m.Config.NEmbd != 32 {
		t.Errorf("exported config %+v", m.Config)
	}

	// Resuming with other settings is refused, naming both.
	err = run(append(append([]string(nil), flags...), "-out", filepath.Join(dir, "a"), "-lr", "1e-3"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resume with another -lr: %v, want a refusal", err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-embd", "100", "-heads", "3"}, "multiple of -heads"},
		{[]string{"-val-every", "1"}, "val-every"},
		{[]string{"-layers", "0"}, "-layers"},
		{[]string{"-seed", "-2"}, "-seed"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		if _, err := parse(c.args, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse(%q) = %v, want an error about %q", c.args, err, c.want)
		}
	}
}

func TestSamplerIsAFunctionOfTheStep(t *testing.T) {
	ids := make([]int, 1000)
	for i := range ids {
		ids[i] = i
	}
	s := newSampler(ids, 17, 3, 5)
	a, b := s.rows(12), s.rows(12)
	c := s.rows(13)
	for i := range a {
		if a[i][0] != b[i][0] || len(a[i]) != 17 {
			t.Fatalf("step 12 drawn twice differs: %v vs %v", a[i][:3], b[i][:3])
		}
		for j := 1; j < 17; j++ {
			if a[i][j] != a[i][j-1]+1 {
				t.Fatal("a row must be a contiguous window of the stream")
			}
		}
	}
	if a[0][0] == c[0][0] && a[1][0] == c[1][0] && a[2][0] == c[2][0] {
		t.Error("steps 12 and 13 drew the same windows")
	}
}
