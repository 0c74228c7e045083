package exercises

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lm"
)

// checkVerdicts runs a task's checker on the right answer (it must print «✓ Верно!»)
// and on each wrong one (rejected, «✗ Задание …» with «Подсказка:» and hints[i],
// and past the verdict's head the answer itself never named); it returns what
// each wrong answer printed, for the caller's own checks.
func checkVerdicts(t *testing.T, check func(int) bool, want int, wrong []int, hints []string) []string {
	t.Helper()
	var ok bool
	out := capture(func() { ok = check(want) })
	if !ok || !strings.HasPrefix(out, "✓ Верно!") {
		t.Errorf("right answer %d: ok=%v, printed %q", want, ok, out)
	}
	answer := regexp.MustCompile(fmt.Sprintf(`(^|[^\w,])%d([^\w,]|$)`, want))
	head := regexp.MustCompile(`^✗ Задание \d+:`)
	outs := make([]string, len(wrong))
	for i, w := range wrong {
		out := capture(func() { ok = check(w) })
		outs[i] = out
		if ok {
			t.Errorf("wrong answer %d accepted: %q", w, out)
		}
		if !strings.HasPrefix(out, "✗ Задание") || !strings.Contains(out, "Подсказка:") || !strings.Contains(out, hints[i]) {
			t.Errorf("wrong answer %d: want a hint mentioning %q, got %q", w, hints[i], out)
		}
		if rest := head.ReplaceAllString(out, ""); answer.MatchString(rest) || want >= 1000 && strings.Contains(out, lm.Thousands(want)) {
			t.Errorf("wrong answer %d: the hint gives the answer %d away: %q", w, want, out)
		}
	}
	return outs
}
