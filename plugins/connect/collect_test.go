package connect

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// In-process on loopback: Collect returns within the window and leaves no goroutine or
// socket behind, also when its context is cancelled before it starts.
func TestCollectLeavesNothingBehind(t *testing.T) {
	port := strconv.Itoa(plugintest.LoopbackPort(t))
	targets, err := target.ParseAll([]string{"127.0.0.1:" + port, "tcp://127.0.0.1:1", "udp://127.0.0.1:1", "icmp://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	env := &probe.Env{Targets: targets, Timeout: time.Second, Attempts: 3, Burst: 5, Logf: t.Logf}
	g0, s0 := runtime.NumGoroutine(), plugintest.OpenSockets(t)

	start := time.Now()
	v, err := (&Plugin{}).Collect(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > env.Timeout {
		t.Errorf("Collect took %s, window %s", d, env.Timeout)
	}
	sec := v.(*Section)
	if len(sec.Targets) != 3 {
		t.Fatalf("want the 2 tcp and 1 udp targets, got %d", len(sec.Targets))
	}
	if got := sec.Targets[0].Addresses[0].Nonblocking.Sequential.Format("ok"); got != "ok 3/3" {
		t.Errorf("listener: %s", got)
	}
	if got := sec.Targets[1].Addresses[0].Blocking.Burst.Format("ok"); got != "ECONNREFUSED 5/5" {
		t.Errorf("closed port burst: %s", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, _ = (&Plugin{}).Collect(ctx, env)
	if got := v.(*Section).Targets[0].Addresses[0].Nonblocking.Sequential.Format("ok"); !strings.Contains(got, "not-run") {
		t.Errorf("cancelled context still probed: %s", got)
	}

	// The test's listener accepts (an fd appears) and closes asynchronously, so one clean
	// look can fall between the two: wait for five clean looks in a row, 5 s at most.
	g, s, clean := 0, 0, 0
	for i := 0; i < 250 && clean < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		g, s = runtime.NumGoroutine(), plugintest.OpenSockets(t)
		if g <= g0 && s == s0 {
			clean++
		} else {
			clean = 0
		}
	}
	if clean < 5 {
		t.Errorf("goroutines %d → %d, sockets %d → %d", g0, g, s0, s)
	}
}
