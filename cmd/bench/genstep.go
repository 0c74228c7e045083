package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lm"
)

// runGenStep prints how long one generation step takes on GPT-2-small shapes
// against the machine's memory read bandwidth: a step reads every weight once
// (0.5 GB), so bytes / bandwidth is the least it can take.
func runGenStep(reps int) error {
	if reps <= 0 {
		reps = 10
	}
	m, err := loadSmall()
	if err != nil {
		return err
	}
	weights := m.Summary(1).UniqueParams * 4 // float32; the tied lm_head is wte, read once
	bw, workers := readBandwidth(0.5e9, reps)
	gen := func(n int) (float64, error) {
		start := time.Now()
		_, err := m.Generate(courseIDs, lm.GenerateOptions{MaxNewTokens: n, NoHiddenStates: true})
		return time.Since(start).Seconds(), err
	}
	const steps = 20
	var short, long []float64
	for i := range reps + 1 {
		a, err := gen(1)
		if err != nil {
			return err
		}
		b, err := gen(1 + steps)
		if err != nil {
			return err
		}
		if i > 0 { // the first pair compiles the graphs
			short, long = append(short, a), append(long, b)
		}
	}
	sMin, sMed := minMedian(short)
	lMin, lMed := minMedian(long)
	step, stepMed := (lMin-sMin)/steps, (lMed-sMed)/steps
	bound := float64(weights) / bw
	fmt.Printf("\nGeneration step on GPT-2-small shapes (KV cache, one token; (generate %d − generate 1) / %d, %d reps) against memory bandwidth\n\n", 1+steps, steps, reps)
	fmt.Printf("| weights read per step | memory read bandwidth (plain read of 0.5 GB, %d goroutines, best of %d) | bytes / bandwidth | step min | step median | step min / (bytes / bandwidth) | target |\n|---:|---:|---:|---:|---:|---:|---|\n", workers, reps)
	fmt.Printf("| %.2f GB | %.1f GB/s | %.1f ms | %.1f ms | %.1f ms | %.2f | ≤ 1.5 %s |\n", float64(weights)/1e9, bw/1e9, bound*1e3, step*1e3, stepMed*1e3, step/bound, mark(step/bound <= 1.5))
	return nil
}

// readBandwidth reads a buffer of about size bytes with 1, 2 and 4 goroutines per
// core (more reads in flight) and returns the best rate and how many goroutines
// gave it.
func readBandwidth(size float64, reps int) (float64, int) {
	buf := make([]uint64, int(size)/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	best, bestWorkers := 0.0, 0
	for _, workers := range []int{runtime.GOMAXPROCS(0), 2 * runtime.GOMAXPROCS(0), 4 * runtime.GOMAXPROCS(0)} {
		for range reps {
			start := time.Now()
			var wg sync.WaitGroup
			chunk := len(buf) / workers
			sums := make([]uint64, workers)
			for w := range workers {
				wg.Go(func() { sums[w] = sumWords(buf[w*chunk : (w+1)*chunk]) })
			}
			wg.Wait()
			if rate := float64(chunk*workers*8) / time.Since(start).Seconds(); rate > best {
				best, bestWorkers = rate, workers
			}
		}
	}
	return best, bestWorkers
}

// sumWords adds the words with eight independent sums, so that the loop is
// bounded by the reads, not by one chain of additions.
func sumWords(v []uint64) uint64 {
	var s [8]uint64
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8 : i+8]
		s[0] += w[0]
		s[1] += w[1]
		s[2] += w[2]
		s[3] += w[3]
		s[4] += w[4]
		s[5] += w[5]
		s[6] += w[6]
		s[7] += w[7]
	}
	for ; i < len(v); i++ {
		s[0] += v[i]
	}
	return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]
}

// loadSmall loads the GPT-2-small-shaped model with random weights (written into
// the user cache the first time).
func loadSmall() (*gpt2.Model, error) {
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		return nil, err
	}
	return gpt2.LoadDir(dir)
}
