package gpt2_test

import (
	"sync"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lm"
)

var (
	smallOnce  sync.Once
	smallModel *gpt2.Model
	smallErr   error
)

// small loads a GPT-2-small-shaped random model, written once to the user cache.
func small(b testing.TB) *gpt2.Model {
	smallOnce.Do(func() {
		var dir string
		dir, smallErr = fixture.Cached(fixture.Small())
		if smallErr == nil {
			smallModel, smallErr = gpt2.LoadDir(dir)
		}
	})
	if smallErr != nil {
		b.Fatal(smallErr)
	}
	return smallModel
}

// smallHalf loads the same shapes from an F16 checkpoint kept in half precision
// (LoadOptions.KeepHalf).
var smallHalf = sync.OnceValues(func() (*gpt2.Model, error) {
	spec := fixture.Small()
	spec.DType = "F16"
	dir, err := fixture.Cached(spec)
	if err != nil {
		return nil, err
	}
	return gpt2.LoadDirWith(dir, gpt2.LoadOptions{KeepHalf: true})
})

func benchForward(b *testing.B, n int) {
	benchForwardOn(b, small(b), n)
}

func benchForwardOn(b *testing.B, m *gpt2.Model, n int) {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i * 7919) % 50000
	}
	if _, err := m.Run(ids, lm.RunOptions{}); err != nil { // compile outside the timer
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Run(ids, lm.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForward64 and BenchmarkForward1024: logits for every position of a
// prompt on GPT-2-small shapes (target on a 2-core machine: 64 tokens ≤ 0.1 s).
func BenchmarkForward64(b *testing.B)   { benchForward(b, 64) }
func BenchmarkForward1024(b *testing.B) { benchForward(b, 1024) }

// BenchmarkForward64Half is BenchmarkForward64 with the weights kept in F16 and
// widened inside the graph (LoadOptions.KeepHalf).
func BenchmarkForward64Half(b *testing.B) {
	m, err := smallHalf()
	if err != nil {
		b.Fatal(err)
	}
	benchForwardOn(b, m, 64)
}
