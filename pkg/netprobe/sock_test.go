package netprobe

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// Loopback only: a listener, a closed port, and a burst, with the fd count checked so a
// leaked socket fails the test.
func TestConnectsOnLoopback(t *testing.T) {
	port := plugintest.LoopbackPort(t)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	before := plugintest.OpenSockets(t)
	deadline := time.Now().Add(2 * time.Second)
	var mtu int
	for _, c := range []struct {
		name string
		fn   func(netip.Addr, int, time.Time, OnConnected) Attempt
		want string
	}{{"blocking", ConnectBlocking, ""}, {"nonblocking", ConnectNonblocking, StagePoll}} {
		if a := c.fn(lo, port, deadline, func(fd int) { mtu = 1 }); !a.OK {
			t.Errorf("%s to listener: %+v", c.name, a)
		}
		if a := c.fn(lo, closedPort, deadline, nil); a.OK || a.Errno != "ECONNREFUSED" || a.Stage != c.want {
			t.Errorf("%s to closed port: %+v, want ECONNREFUSED stage %q", c.name, a, c.want)
		}
	}
	if mtu != 1 {
		t.Error("OnConnected was not called")
	}
	fn := func(d time.Time) Attempt { return ConnectNonblocking(lo, port, d, nil) }
	if r := Summarize(Burst(context.Background(), 20, deadline, fn)); r.OK != 20 {
		t.Errorf("burst: %s", r.Format("ok"))
	}
	if r := Summarize(Sequential(context.Background(), 3, time.Second, 0, time.Now().Add(-time.Second), fn)); r.Format("ok") != "ETIMEDOUT 3/3 (not-run)" {
		t.Errorf("past deadline: %s", r.Format("ok"))
	}
	if a := ProbeUDP(lo, closedPort, deadline, 200*time.Millisecond); a.Errno != "ECONNREFUSED" {
		t.Errorf("UDP to closed port: %+v", a)
	}
	if after := settledFds(t, before); after != before {
		t.Errorf("open fds %d before, %d after: a socket leaked", before, after)
	}
}

// A burst beyond MaxInFlight must neither exhaust threads nor hang: the excess waits for
// a slot, and what finds none before the deadline is "not run".
func TestBurstBeyondTheLimitIsBounded(t *testing.T) {
	port := plugintest.LoopbackPort(t)
	lo := netip.MustParseAddr("127.0.0.1")
	before := plugintest.OpenSockets(t)
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	r := Summarize(Burst(context.Background(), MaxInFlight+100, deadline, func(d time.Time) Attempt {
		return ConnectBlocking(lo, port, d, nil)
	}))
	if r.Attempts != MaxInFlight+100 || r.OK+r.Failed() != r.Attempts || r.OK < MaxInFlight {
		t.Errorf("burst of %d: %s", MaxInFlight+100, r.Format("ok"))
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("burst took %s", time.Since(start))
	}
	if len(inFlight) != 0 {
		t.Errorf("%d in-flight slots not released", len(inFlight))
	}
	if after := settledFds(t, before); after != before {
		t.Errorf("open sockets %d before, %d after", before, after)
	}
}

// settledFds waits briefly for the test's own accept loop to close its ends.
func settledFds(t *testing.T, want int) int {
	n := plugintest.OpenSockets(t)
	for i := 0; i < 50 && n != want; i++ {
		time.Sleep(20 * time.Millisecond)
		n = plugintest.OpenSockets(t)
	}
	return n
}
