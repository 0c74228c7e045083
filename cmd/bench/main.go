// Command bench times the project's main work items on a GPT-2-small-shaped model
// with random weights (written once to the user cache) and prints a table: min and
// median seconds and each item's peak RSS. Each item runs in its own child process
// so that peak memory is per item.
//
//	go run ./cmd/bench                 # all items, 5 repetitions each
//	go run ./cmd/bench -items lens64 -reps 10
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

type item struct {
	name, work string
	target     float64 // seconds; 0 = none
	run        func(m *gpt2.Model) error
}

func tokens(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i*7919 + 13) % 50000
	}
	return ids
}

var items = []item{
	{"forward64", "forward pass, 64 tokens (all logits)", 0.1, func(m *gpt2.Model) error {
		_, err := m.Run(tokens(64), gpt2.RunOptions{})
		return err
	}},
	{"forward1024", "forward pass, 1024 tokens (all logits)", 0, func(m *gpt2.Model) error {
		_, err := m.Run(tokens(1024), gpt2.RunOptions{})
		return err
	}},
	{"lens64", "prompt lens, 64 tokens, 13 states, top-5 + entropy + KL", 0.35, func(m *gpt2.Model) error {
		_, err := lensnb.PromptIDs(m, tokens(64), lensnb.Options{})
		return err
	}},
	{"course", "generate 10 tokens from 4 + lens on all 130 states", 0.5, func(m *gpt2.Model) error {
		_, err := lensnb.Generate(m, "Are cats good?", 10, lensnb.Options{NoFinalNorm: true})
		return err
	}},
	{"lens1024", "prompt lens, 1024 tokens, 13 states", 6, func(m *gpt2.Model) error {
		_, err := lensnb.PromptIDs(m, tokens(1024), lensnb.Options{})
		return err
	}},
}

func main() {
	child := flag.String("child", "", "internal: run one item in this process")
	reps := flag.Int("reps", 5, "timed repetitions per item (after one warm-up)")
	only := flag.String("items", "", "comma-separated items (default all): "+names())
	flag.Parse()
	dir, err := fixture.Cached(fixture.Small())
	if err != nil {
		fail(err)
	}
	if *child != "" {
		runChild(dir, *child, *reps)
		return
	}
	_, backend, _ := gpt2.Backend()
	fmt.Printf("GPT-2-small shapes (12×768, vocab 50257), random weights; backend %s; GOEXPERIMENT=%s; %d reps\n\n", backend, os.Getenv("GOEXPERIMENT"), *reps)
	fmt.Printf("| %-11s | %-55s | %8s | %8s | %8s | %9s |\n", "item", "work", "min s", "median s", "target s", "peak RSS")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 13), strings.Repeat("-", 57), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 11))
	for _, it := range items {
		if *only != "" && !strings.Contains(","+*only+",", ","+it.name+",") {
			continue
		}
		cmd := exec.Command(os.Args[0], "-child", it.name, "-reps", strconv.Itoa(*reps))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			fail(fmt.Errorf("%s: %w", it.name, err))
		}
		var times []float64
		for _, f := range strings.Fields(string(out)) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				fail(fmt.Errorf("%s: bad child output %q", it.name, out))
			}
			times = append(times, v)
		}
		sort.Float64s(times)
		rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / (1 << 20) // KiB → GiB
		target := "—"
		if it.target > 0 {
			target = fmt.Sprintf("%.2f", it.target)
		}
		fmt.Printf("| %-11s | %-55s | %8.3f | %8.3f | %8s | %6.2f GB |\n", it.name, it.work, times[0], times[len(times)/2], target, rss*1.073741824)
	}
}

func runChild(dir, name string, reps int) {
	var it *item
	for i := range items {
		if items[i].name == name {
			it = &items[i]
		}
	}
	if it == nil {
		fail(fmt.Errorf("unknown item %q: %s", name, names()))
	}
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		fail(err)
	}
	if err := it.run(m); err != nil { // warm-up: compiles the graphs
		fail(err)
	}
	for i := 0; i < reps; i++ {
		start := time.Now()
		if err := it.run(m); err != nil {
			fail(err)
		}
		fmt.Printf("%.4f\n", time.Since(start).Seconds())
	}
}

func names() string {
	var n []string
	for _, it := range items {
		n = append(n, it.name)
	}
	return strings.Join(n, ",")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
