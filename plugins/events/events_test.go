package events

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// settle waits until the goroutine and fd counts are back at or below their baseline;
// the library's closer goroutines end a moment after the window closes.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("after Collect: %d goroutines (was %d), %d fds (was %d)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTotal waits until the watch has seen n events: notifications are read
// asynchronously, and closing the sockets drops what is still queued.
// waitTotal waits until the watch has seen at least n events and then no new one for
// 200ms: the kernel adds events of its own (prefix and local routes of an address), so a
// count reached is not yet every event sent (seen under load: 597 of 600 deletions).
func waitTotal(t *testing.T, p *Plugin, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	last, since := -1, time.Now()
	for {
		p.w.mu.Lock()
		got := p.w.total
		p.w.mu.Unlock()
		if got != last {
			last, since = got, time.Now()
		}
		if (got >= n && time.Since(since) >= 200*time.Millisecond) || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWatchInProcess changes every kind of object in a namespace while the watch is
// open, and checks the events, their counts, the cap, and that Collect leaves neither
// goroutines nor file descriptors behind.
func TestWatchInProcess(t *testing.T) {
	ns := netnstest.New(t, "evin")
	ns.IP("link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
	ns.IP("link", "set", "peer0", "up")
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	p := &Plugin{}
	env := &probe.Env{Proc: "/proc", PID: os.Getpid()}
	const flaps = 600 // 1,200 route events: more than MaxEvents
	err := ns.Do(func() error {
		if err := p.Begin(context.Background(), env); err != nil {
			return err
		}
		link, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("10.31.0.1/24")
		if err := netlink.AddrAdd(link, addr); err != nil {
			return err
		}
		if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: link.Attrs().Index, IP: net.ParseIP("10.31.0.9"),
			HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 9}, State: netlink.NUD_PERMANENT}); err != nil {
			return err
		}
		rule := netlink.NewRule()
		rule.Priority, rule.Table, rule.Mark = 100, 100, 7
		if err := netlink.RuleAdd(rule); err != nil {
			return err
		}
		if err := netlink.RuleDel(rule); err != nil {
			return err
		}
		_, dst, _ := net.ParseCIDR("0.0.0.0/0")
		route := &netlink.Route{Dst: dst, Gw: net.ParseIP("10.31.0.2"), LinkIndex: link.Attrs().Index}
		for i := 0; i < flaps; i++ {
			if err := netlink.RouteAdd(route); err != nil {
				return fmt.Errorf("add %d: %w", i, err)
			}
			if err := netlink.RouteDel(route); err != nil {
				return fmt.Errorf("del %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitTotal(t, p, 2*flaps+6)
	v, err := p.Collect(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Section)
	settle(t, goroutines, fds)

	if len(s.Errors) != 0 {
		t.Errorf("errors: %v", s.Errors)
	}
	if !s.Window || !s.Truncated || len(s.Events) != MaxEvents || s.Total < 2*flaps+6 {
		t.Errorf("window %v truncated %v, %d events stored of %d; want %d stored of at least %d",
			s.Window, s.Truncated, len(s.Events), s.Total, MaxEvents, 2*flaps+6)
	}
	// Adding the address adds its prefix and local routes too.
	if s.Counts["route/del/eth0"] != flaps || s.Counts["route/new/eth0"] < flaps {
		t.Errorf("route counts %v, want %d deletions and at least %d additions on eth0", s.Counts, flaps, flaps)
	}
	for _, k := range []string{"link/new/eth0", "address/new/eth0", "neighbour/new/eth0", "rule/new/any", "rule/del/any"} {
		if s.Counts[k] < 1 {
			t.Errorf("%s = %d, want at least 1 (counts %v)", k, s.Counts[k], s.Counts)
		}
	}
	want := map[string]string{
		"address":   "10.31.0.1/24 scope global",
		"neighbour": "10.31.0.9 lladdr 02:00:00:00:00:09 PERMANENT",
		"rule":      "100: from all fwmark 0x7 lookup 100",
		"route":     "main unicast default via 10.31.0.2 dev eth0",
	}
	prev := -1.0
	for _, e := range s.Events {
		if e.AtMS < prev || e.AtMS < 0 || e.AtMS > float64(s.WindowMS)+1 {
			t.Errorf("event at %.3fms (previous %.3fms, window %dms)", e.AtMS, prev, s.WindowMS)
		}
		prev = e.AtMS
		if w, ok := want[e.Kind]; ok && strings.HasPrefix(e.What, w) {
			delete(want, e.Kind)
		}
	}
	for k, w := range want {
		t.Errorf("no %s event %q among %d events", k, w, len(s.Events))
	}
}

// TestCollectWithoutBegin: a plugin whose window never opened says so instead of
// claiming a quiet namespace.
func TestCollectWithoutBegin(t *testing.T) {
	v, err := (&Plugin{}).Collect(context.Background(), &probe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if s := v.(*Section); s.Window || s.Errors["all"] == "" {
		t.Errorf("section %+v", s)
	}
}

// flappingPair builds two namespaces like pods (eth0 10.30.0.1/24, default via
// 10.30.0.2); with flap, in the first, a loop deletes and re-adds the default route every 50ms.
func flappingPair(t *testing.T, flap bool) (a, b *netnstest.NS) {
	t.Helper()
	a, b = netnstest.New(t, "evA"), netnstest.New(t, "evB")
	for _, ns := range []*netnstest.NS{a, b} {
		// Without DAD the IPv6 link-local address is final at once, instead of being
		// announced again, with its routes, during a window a second later.
		ns.Exec("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
		// Both ends of the veth stay in the namespace, and the gateway's MAC is nobody's:
		// probe traffic goes nowhere and resolves no neighbour during the window.
		ns.IP("link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
		ns.IP("addr", "add", "10.30.0.1/24", "dev", "eth0")
		ns.IP("link", "set", "eth0", "up")
		ns.IP("link", "set", "peer0", "up")
		ns.IP("neigh", "add", "10.30.0.2", "lladdr", "02:00:00:00:30:02", "dev", "eth0", "nud", "permanent")
		ns.IP("route", "add", "default", "via", "10.30.0.2")
	}
	if flap {
		a.Start("sh", "-c", "while true; do ip route del default; ip route add default via 10.30.0.2; sleep 0.05; done")
	}
	return a, b
}

var collectArgs = []string{"--quiet", "--window", "1s", "--target", "10.30.0.2:80", "--attempts", "1", "--burst", "0"}

func TestFlappingDefaultRouteIsAFinding(t *testing.T) {
	a, b := flappingPair(t, true)
	ra, rb := a.Collect(collectArgs...), b.Collect(collectArgs...)
	var sa, sb Section
	netnstest.Section(t, ra, Name, &sa)
	netnstest.Section(t, rb, Name, &sb)

	// 1s of a loop that sleeps 50ms between pairs: a dozen flaps when idle; on a host with a
	// load of 30 the loop may get a few, and two of each are still a flap.
	if sa.Counts["route/del/eth0"] < 2 || sa.Counts["route/new/eth0"] < 2 {
		t.Errorf("flapping namespace counts %v, want at least 2 route deletions and additions on eth0", sa.Counts)
	}
	// The prober opens the window before the openers' Begin, so the watch may be a few ms shorter.
	if sa.WindowMS < 950 {
		t.Errorf("window %dms, want at least the 1s asked for", sa.WindowMS)
	}
	var dels, adds int
	for _, e := range sa.Events {
		if e.Kind != "route" || !strings.Contains(e.What, "default via 10.30.0.2") {
			continue
		}
		if e.AtMS < 0 || e.AtMS > float64(sa.WindowMS)+1 {
			t.Errorf("event at %.1fms outside the %dms window", e.AtMS, sa.WindowMS)
		}
		switch e.Action {
		case "del":
			dels++
		case "new":
			adds++
		}
	}
	if dels != sa.Counts["route/del/eth0"] || adds != sa.Counts["route/new/eth0"] {
		t.Errorf("%d deletions and %d additions of the default route among the events, counts %v", dels, adds, sa.Counts)
	}
	if sb.Total != 0 || len(sb.Counts) != 0 {
		t.Errorf("quiet namespace saw %d events: %v", sb.Total, sb.Events)
	}

	findings := plugintest.Findings(t, Name, []string{"pod-a", "pod-b"}, []*report.Report{ra, rb})
	if len(findings) != 1 {
		t.Fatalf("findings %+v, want one", findings)
	}
	f := findings[0]
	wantMsg := "pod-a's route `default via 10.30.0.2 dev eth0"
	wantDetail := fmt.Sprintf("pod-a saw %d route deletions and %d route additions on eth0 during the probe window",
		sa.Counts["route/del/eth0"], sa.Counts["route/new/eth0"])
	if f.Severity != contract.High || f.Rule != "events/churn" || !strings.HasPrefix(f.Message, wantMsg) ||
		!strings.HasSuffix(f.Message, "(none in pod-b)") || !strings.HasPrefix(f.Detail, wantDetail) {
		t.Errorf("finding %+v, want High events/churn %q… none in pod-b", f, wantMsg)
	}
	if strings.Join(f.Keys, ",") != "events/route/del/eth0,events/route/new/eth0" {
		t.Errorf("keys %v", f.Keys)
	}
}

func TestQuietPairHasNoFinding(t *testing.T) {
	a, b := flappingPair(t, false)
	ra, rb := a.Collect(collectArgs...), b.Collect(collectArgs...)
	for _, f := range plugintest.Findings(t, Name, []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		t.Errorf("finding between quiet namespaces: %+v", f)
	}
}

// TestWatchAsNobody: a restricted ephemeral container (no capabilities) may still
// subscribe to the routing groups.
func TestWatchAsNobody(t *testing.T) {
	ns := netnstest.New(t, "evnb")
	rep := ns.CollectAsNobody("--quiet", "--window", "200ms", "--target", "10.199.7.1:80", "--attempts", "1", "--burst", "0")
	var s Section
	netnstest.Section(t, rep, Name, &s)
	if !s.Window || len(s.Errors) != 0 || s.WindowMS < 180 { // the other openers' Begin take part of it
		t.Errorf("as nobody: window %v (%dms), errors %v", s.Window, s.WindowMS, s.Errors)
	}
}

func sectionOf(counts map[string]int, window bool) *report.Report {
	raw, _ := json.Marshal(Section{Window: window, WindowMS: 4000, Events: []Event{}, Counts: counts})
	return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{Name: raw}}
}

func TestChurnRule(t *testing.T) {
	for _, tt := range []struct {
		name string
		reps []*report.Report
		want []string // messages
	}{
		{"neighbour churn below the threshold", []*report.Report{
			sectionOf(map[string]int{"neighbour/new/eth0": neighThreshold - 1}, true), sectionOf(nil, true)}, nil},
		{"neighbour churn", []*report.Report{
			sectionOf(map[string]int{"neighbour/new/eth0": 30, "neighbour/del/eth0": 2}, true), sectionOf(map[string]int{"neighbour/new/eth0": 2}, true)},
			[]string{"s0 saw 2 neighbour deletions and 30 neighbour updates on eth0 during the probe window (4.0s); fewer than 10 in s1"}},
		{"both moved", []*report.Report{
			sectionOf(map[string]int{"route/del/eth0": 3}, true), sectionOf(map[string]int{"route/new/eth0": 1}, true)}, nil},
		{"a report without a watch says nothing", []*report.Report{
			sectionOf(map[string]int{"link/new/eth0": 3}, true), sectionOf(nil, false), {SchemaVersion: report.SchemaVersion}}, nil},
		{"rule without a device, three subjects", []*report.Report{
			sectionOf(nil, true), sectionOf(map[string]int{"rule/new/any": 1}, true), sectionOf(nil, true)},
			[]string{"s1 saw 1 rule addition during the probe window (4.0s); none in s0, s2"}},
		{"link flap", []*report.Report{
			sectionOf(map[string]int{"link/new/eth0": 4}, true), sectionOf(map[string]int{"link/new/eth1": 4}, true)},
			[]string{"s0 saw 4 link changes on eth0 during the probe window (4.0s); none in s1",
				"s1 saw 4 link changes on eth1 during the probe window (4.0s); none in s0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			subjects := make([]string, len(tt.reps))
			for i := range subjects {
				subjects[i] = fmt.Sprintf("s%d", i)
			}
			var got []string
			for _, f := range plugintest.Findings(t, Name, subjects, tt.reps) {
				got = append(got, f.Message)
				wantSev := contract.High
				switch {
				case strings.Contains(f.Message, "neighbour"):
					wantSev = contract.Medium
				case strings.Contains(f.Message, " saw 1 "):
					wantSev = contract.Low
				}
				if f.Severity != wantSev {
					t.Errorf("%q: severity %v, want %v", f.Message, f.Severity, wantSev)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestFacts(t *testing.T) {
	rep := sectionOf(map[string]int{"route/del/eth0": 14, "neighbour/new/eth0": 3}, true)
	fs, err := section.Facts(Name, rep.Sections[Name])
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]probe.FactKind{}
	for _, f := range fs {
		kinds[f.Key+"="+f.Value] = f.Kind
	}
	for k, want := range map[string]probe.FactKind{"route/del/eth0=14": probe.Counter, "neighbour/new/eth0=3": probe.ShowOnly, "total=0": probe.ShowOnly, "window-ms=4000": probe.ShowOnly} {
		if got, ok := kinds[k]; !ok || got != want {
			t.Errorf("fact %s: kind %v (present %v), want %v", k, got, ok, want)
		}
	}
}
