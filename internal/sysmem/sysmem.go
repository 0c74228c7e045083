// Package sysmem reads what the kernel says about memory.
package sysmem

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

// MemAvailable is MemAvailable from /proc/meminfo in bytes: the memory the
// system can give to new work without swapping. Callers choose their own
// fallback when it cannot be read (no /proc: not Linux).
func MemAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/meminfo has no MemAvailable line")
}
