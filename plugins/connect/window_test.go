package connect

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// A SYN that vanishes (S does not forward, and says nothing) must cost one slot per
// attempt, and the whole collection must end within the window.
func TestBlackholedTargetStaysInsideTheWindow(t *testing.T) {
	w := newWorld(t)
	const timeout = 1500 * time.Millisecond
	start := time.Now()
	pid, _ := apps.Load(w.a.Name)
	rep := w.a.Collect("--quiet", "--timeout", timeout.String(), "--attempts", "3", "--burst", "5", "--pid", strconv.Itoa(pid.(int)),
		"--target", "tcp://10.10.8.1:80", "--target", onLink8080)
	wall := time.Since(start)
	f := factsOf(t, rep)
	for _, k := range []string{RunKey(Nonblocking, false, "tcp://10.10.8.1:80", "ipv4"), RunKey(Blocking, false, "tcp://10.10.8.1:80", "ipv4")} {
		if !strings.HasPrefix(f[k], "ETIMEDOUT 3/3 (timeout)") {
			t.Errorf("%s = %q, want ETIMEDOUT 3/3 (timeout)", k, f[k])
		}
	}
	if got := f[RunKey(Nonblocking, true, "tcp://10.10.8.1:80", "ipv4")]; got != "ETIMEDOUT 5/5 (timeout)" {
		t.Errorf("burst = %q", got)
	}
	if got := f[RunKey(Nonblocking, false, onLink8080, "ipv4")]; got != "ok 3/3" {
		t.Errorf("a slow target must not starve a fast one: %q", got)
	}
	if rep.DurationMS > (timeout + 700*time.Millisecond).Milliseconds() {
		t.Errorf("collect took %d ms with --timeout %s", rep.DurationMS, timeout)
	}
	t.Logf("blackholed target: report durationMs %d, wall %s (timeout %s)", rep.DurationMS, wall.Round(time.Millisecond), timeout)
}
