package sysmem

import (
	"os"
	"testing"
)

func TestMemAvailable(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo")
	}
	n, err := MemAvailable()
	if err != nil || n <= 0 {
		t.Fatalf("MemAvailable() = %d, %v", n, err)
	}
}
