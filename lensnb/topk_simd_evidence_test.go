//go:build goexperiment.simd && amd64

package lensnb

import (
	"fmt"
	"math"
	"math/bits"
	"simd/archsimd"
	"testing"
)

// topAndRanksSIMD returns what topAndRanks (lens.go) returns: the ranks count
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
		a, ar := topAndRanks(row, 5, ids[r])
		b, br := topAndRanksSIMD(row, 5, ids[r])
		if fmt.Sprint(a, ar) != fmt.Sprint(b, br) {
			t.Fatalf("row %d: scalar %v %v, SIMD %v %v", r, a, ar, b, br)
		}
	}
}

func BenchmarkTopAndRanksSIMD(b *testing.B) { benchTopK(b, topAndRanksSIMD) }
