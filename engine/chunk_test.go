package engine

import "testing"

func TestChunkColumns(t *testing.T) {
	cases := []struct {
		states, cols, maxRows, want int
	}{
		{13, 64, 256, 16},   // 19 columns fit; 4 chunks of 16 instead of 19+19+19+7 padded to 19
		{13, 64, 534, 32},   // 41 fit; 2 chunks of 32
		{13, 4, 534, 4},     // a short prompt is one chunk, unpadded
		{49, 256, 534, 10},  // gpt2-xl: 10 columns fit, 26 chunks of 10 (the last holds 6)
		{49, 1, 16, 1},      // fewer rows than states still takes a whole column
		{13, 1024, 534, 41}, // 25 chunks of 41 (the last holds 40)
	}
	for _, c := range cases {
		got := chunkColumns(c.states, c.cols, c.maxRows)
		if got != c.want {
			t.Errorf("chunkColumns(%d, %d, %d) = %d, want %d", c.states, c.cols, c.maxRows, got, c.want)
		}
		if got*c.states > max(c.maxRows, c.states) {
			t.Errorf("chunkColumns(%d, %d, %d) = %d columns: %d rows exceed the bound", c.states, c.cols, c.maxRows, got, got*c.states)
		}
		chunks := (c.cols + got - 1) / got
		if padded := chunks*got - c.cols; padded >= chunks {
			t.Errorf("chunkColumns(%d, %d, %d) = %d: %d padded columns over %d chunks", c.states, c.cols, c.maxRows, got, padded, chunks)
		}
	}
}

func TestAutoChunkRows(t *testing.T) {
	rows := autoChunkRows(50257)
	bytes := int64(rows) * 50257 * 4 * chunkTensorsPerRow
	if rows < 16 || bytes > 384<<20 {
		t.Errorf("autoChunkRows(50257) = %d rows = %d MiB of vocabulary tensors; want ≥ 16 rows within 384 MiB", rows, bytes>>20)
	}
	if got := autoChunkRows(1 << 30); got != 16 {
		t.Errorf("autoChunkRows(huge vocabulary) = %d, want the floor of 16", got)
	}
}
