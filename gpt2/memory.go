package gpt2

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcHeadroom is how far the Go heap may grow past its live size before a
// collection, once a model is loaded: room for the largest transient a lens makes
// (a chunk of vocabulary-sized rows, at most 384 MiB: lensnb/chunk.go) and its
// garbage.
const gcHeadroom = 384 << 20

// limitHeapGrowth lowers the garbage collector's GOGC so that the heap grows by
// about gcHeadroom past its live size, not by the live size itself, and sets a soft
// memory limit of the live size plus twice that, so that freed memory goes back to
// the system instead of staying resident.
//
// Why: on the pure-Go backend the weights are Go memory, so with the default GOGC=100
// the heap may reach twice the weights before the collector runs — garbage from a
// few lenses took gpt2-medium's session from 1.5 GB to 3.6 GB. The weights hold no
// pointers, so the collector never scans them and collecting more often costs little.
// A GOGC or GOMEMLIMIT set by the user is left alone (GOGC=100 or GOMEMLIMIT=off
// keeps Go's defaults). GOGC is only ever lowered; the limit is set at each load to
// the live heap then plus the margin, so it grows with every model loaded.
func limitHeapGrowth() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	runtime.GC() // the live size after loading
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := sample[0].Value.Uint64()
	if live == 0 {
		return
	}
	percent := int(max(10, min(100, 100*gcHeadroom/live)))
	if previous := debug.SetGCPercent(percent); previous >= 0 && previous < percent {
		debug.SetGCPercent(previous)
	}
	debug.SetMemoryLimit(int64(live) + 2*gcHeadroom)
}
