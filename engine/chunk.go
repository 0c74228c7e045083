package engine

import (
	"sync"

	"github.com/logitlens-go/logitlens/internal/sysmem"
)

// Chunk sizing. The lens unembeds (state, column) rows in chunks; each row of a
// chunk holds vocabulary-sized tensors in the graph (the logits, the shifted logits
// and their exponentials, the final state's probabilities: about four) and the
// logits again on the way back. So a chunk of R rows needs about
// R × vocab × 4 B × chunkTensorsPerRow, and the chunk is sized to a memory budget
// rather than a constant: on gpt2-xl shapes a fixed number of rows means a few
// columns of 49 states, on a 64-token prompt it means padding.

// chunkTensorsPerRow is how many float32 vocabulary rows one chunk row costs.
const chunkTensorsPerRow = 5

// chunkBudget bounds the bytes of one chunk's vocabulary-sized tensors: an eighth
// of the memory the kernel says is available, between 64 MiB and 384 MiB (the
// same as the headroom gpt2 leaves the garbage collector). Past ~400 rows the
// matmul gains nothing on a CPU, and below 64 MiB the lens slows.
var chunkBudget = sync.OnceValue(func() int64 {
	const lo, hi = 64 << 20, 384 << 20
	return min(max(memAvailable()/8, lo), hi)
})

// memAvailable is the memory the system says is available, or 4 GiB where it
// cannot be read.
func memAvailable() int64 {
	if n, err := sysmem.MemAvailable(); err == nil {
		return n
	}
	return 4 << 30
}

// autoChunkRows is the default ChunkRows for a vocabulary: the rows whose tensors
// fit chunkBudget, at least 16.
func autoChunkRows(vocab int) int {
	return max(16, int(chunkBudget()/int64(vocab*4*chunkTensorsPerRow)))
}

// chunkColumns splits nCols columns of nStates rows each into chunks of at most
// maxRows rows (at least one column per chunk) and balances them, so that the last
// chunk, padded to the same width, repeats as few columns as possible.
func chunkColumns(nStates, nCols, maxRows int) int {
	perChunk := min(max(1, maxRows/nStates), nCols)
	chunks := (nCols + perChunk - 1) / perChunk
	return (nCols + chunks - 1) / chunks
}
