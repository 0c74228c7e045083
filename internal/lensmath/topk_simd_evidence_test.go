//go:build goexperiment.simd && amd64

package lensmath

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"simd/archsimd"
	"sort"
	"testing"
)

// topAndRanksSIMD returns what TopAndRanks returns: the ranks count
// compare masks 8 logits at a time (ties, "== a below the id", in a second short
// pass), and only 8-logit blocks with a value above the current k-th enter the
// scalar top-k insertion.
func topAndRanksSIMD(z []float32, k int, ids []int) (top []int, ranks []int) {
	top = make([]int, 0, k+1)
	id0, id1, id2 := ids[0], ids[1], ids[2]
	a0, a1, a2 := z[id0], z[id1], z[id2]
	A0, A1, A2 := archsimd.BroadcastFloat32x8(a0), archsimd.BroadcastFloat32x8(a1), archsimd.BroadcastFloat32x8(a2)
	r0, r1, r2 := 0, 0, 0
	kth := float32(math.Inf(-1))
	K := archsimd.BroadcastFloat32x8(kth)
	insert := func(v int, x float32) {
		if len(top) == k && x <= kth {
			return
		}
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
			K = archsimd.BroadcastFloat32x8(kth)
		}
	}
	n := len(z) &^ 7
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat32x8(z[i : i+8])
		r0 += bits.OnesCount8(x.Greater(A0).ToBits())
		r1 += bits.OnesCount8(x.Greater(A1).ToBits())
		r2 += bits.OnesCount8(x.Greater(A2).ToBits())
		if x.Greater(K).ToBits() != 0 || len(top) < k {
			for l := 0; l < 8; l++ {
				insert(i+l, z[i+l])
			}
		}
	}
	gt := func(x, a float32) int {
		if x > a {
			return 1
		}
		return 0
	}
	for v := n; v < len(z); v++ {
		x := z[v]
		r0, r1, r2 = r0+gt(x, a0), r1+gt(x, a1), r2+gt(x, a2)
		insert(v, x)
	}
	eq := func(id int, a float32) (r int) {
		for _, x := range z[:id] {
			if x == a {
				r++
			}
		}
		return r
	}
	return top, []int{r0 + eq(id0, a0), r1 + eq(id1, a1), r2 + eq(id2, a2)}
}

func TestTopAndRanksSIMD(t *testing.T) {
	z, ids := topKRows()
	v := len(z) / len(ids)
	for r := range ids {
		row := z[r*v : (r+1)*v]
		a, ar := TopAndRanks(row, 5, ids[r])
		b, br := topAndRanksSIMD(row, 5, ids[r])
		if fmt.Sprint(a, ar) != fmt.Sprint(b, br) {
			t.Fatalf("row %d: scalar %v %v, SIMD %v %v", r, a, ar, b, br)
		}
	}
}

func BenchmarkTopAndRanksSIMD(b *testing.B) { benchTopK(b, topAndRanksSIMD) }

// TestTopAndRanksSpecialRows: ties (every logit on a coarse grid), ±Inf and NaN.
// Both passes agree with a brute-force sort (logit descending, lower id first on
// ties; a rank counts the logits above, and equal logits of lower ids) on rows
// without NaN, and with each other on rows with NaN (which the lens never sees:
// Load rejects weights with NaN).
func TestTopAndRanksSpecialRows(t *testing.T) {
	const v = 4096
	rng := rand.New(rand.NewPCG(3, 4))
	rows := map[string][]float32{}
	ties := make([]float32, v)
	for i := range ties {
		ties[i] = float32(rng.IntN(7)) // seven distinct values: every top-k has ties
	}
	rows["ties"] = ties
	inf := make([]float32, v)
	for i := range inf {
		inf[i] = float32(rng.NormFloat64())
	}
	inf[17], inf[4000], inf[3] = float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(-1))
	for i := 100; i < 200; i++ {
		inf[i] = float32(math.Inf(-1))
	}
	rows["inf"] = inf
	allSame := make([]float32, v)
	rows["all equal"] = allSame
	nan := append([]float32(nil), inf...)
	nan[5], nan[2000] = float32(math.NaN()), float32(math.NaN())
	for name, row := range rows {
		ids := []int{17, 3, 150}
		a, ar := TopAndRanks(row, 5, ids)
		b, br := topAndRanksSIMD(row, 5, ids)
		if fmt.Sprint(a, ar) != fmt.Sprint(b, br) {
			t.Errorf("%s: scalar %v %v, SIMD %v %v", name, a, ar, b, br)
		}
		order := make([]int, v)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return row[order[i]] > row[order[j]] })
		if fmt.Sprint(a) != fmt.Sprint(order[:5]) {
			t.Errorf("%s: top-5 %v, brute force %v", name, a, order[:5])
		}
		for k, id := range ids {
			want := 0
			for u, x := range row {
				if x > row[id] || (x == row[id] && u < id) {
					want++
				}
			}
			if ar[k] != want {
				t.Errorf("%s: rank of %d is %d, brute force %d", name, id, ar[k], want)
			}
		}
	}
	ids := []int{17, 3, 150}
	a, ar := TopAndRanks(nan, 5, ids)
	b, br := topAndRanksSIMD(nan, 5, ids)
	if fmt.Sprint(a, ar) != fmt.Sprint(b, br) {
		t.Errorf("NaN row: scalar %v %v, SIMD %v %v", a, ar, b, br)
	}
}
