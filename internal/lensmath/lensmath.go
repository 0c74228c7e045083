// Package lensmath holds the few numeric kernels that both sides of the lens use
// on rows of logits in Go memory: the lens engine, which decodes states, and the
// notebook helper, which reads a row a cell has in hand (TopTokens, the patching
// metrics). Pure Go, so that a notebook cell links no engine.
package lensmath

import (
	"math"
	"runtime"
	"sync"
)

// TopAndRanks makes one pass over a row of logits: the k largest (ties: lower id
// first) and, for each of the three ids, its 0-based rank (tokens with a larger
// logit, plus those with an equal logit and a lower id).
func TopAndRanks(z []float32, k int, ids []int) (top []int, ranks []int) {
	top = make([]int, 0, k+1)
	// The three thresholds are unrolled: this loop runs over every logit of every cell.
	id0, id1, id2 := ids[0], ids[1], ids[2]
	a0, a1, a2 := z[id0], z[id1], z[id2]
	r0, r1, r2 := 0, 0, 0
	kth := float32(math.Inf(-1)) // the smallest logit in a full top list
	for v, x := range z {
		if x >= a0 && (x > a0 || v < id0) {
			r0++
		}
		if x >= a1 && (x > a1 || v < id1) {
			r1++
		}
		if x >= a2 && (x > a2 || v < id2) {
			r2++
		}
		if len(top) == k && x <= kth {
			continue
		}
		// Insert v keeping top sorted by logit (descending); earlier ids win ties.
		j := len(top)
		top = append(top, v)
		for j > 0 && z[top[j-1]] < x {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
		if len(top) > k {
			top = top[:k]
		}
		if len(top) == k {
			kth = z[top[k-1]]
		}
	}
	return top, []int{r0, r1, r2}
}

// LogSumExp is log Σ exp(z) in float64, computed around the maximum (the
// normaliser of a row of logits).
func LogSumExp(z []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// Argmax is the index of the largest value (the first one on ties).
func Argmax(z []float32) int {
	best := 0
	for i, x := range z {
		if x > z[best] {
			best = i
		}
	}
	return best
}

// KL is KL(softmax p ‖ softmax q) in nats for two rows of logits (never negative).
func KL(p, q []float32) float64 {
	lp, lq := LogSumExp(p), LogSumExp(q)
	kl := 0.0
	for i := range p {
		a := float64(p[i]) - lp
		kl += math.Exp(a) * (a - (float64(q[i]) - lq))
	}
	return math.Max(0, kl)
}

// ParallelRows runs f(0..n-1) on every core.
func ParallelRows(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}
