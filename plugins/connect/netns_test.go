package connect

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/routeget"
)

// world is two client namespaces, A (healthy) and B (broken on purpose), each linked to
// a server namespace S that listens on :8080 and :8081 and owns the "service" 10.10.9.1.
type world struct {
	a, b, s *netnstest.NS
}

// apps maps a namespace to the target process the prober reports on: a sleep whose
// resolv.conf (and hosts) come from /etc/netns/NAME, so that the DNS probes ask S
// and never the host's nameserver.
var apps sync.Map

const (
	svcNoRoute  = "tcp://10.10.9.1:8080" // B has no route at all: ENETUNREACH
	onLink8080  = "tcp://10.10.2.2:8080" // works in both
	onLink8081  = "tcp://10.10.2.2:8081" // B: ipproto tcp dport 8081 → table with only an unreachable default
	noListener  = "tcp://10.10.2.2:9"    // ECONNREFUSED in both
	rejectRoute = "tcp://10.10.7.1:80"   // A: blackhole route, B: prohibit route
	udpClosed   = "udp://10.10.2.2:5353" // no UDP listener: port unreachable
	nameTarget  = "tcp://svc.netdiff.test:8080"
	v6OnLink    = "tcp://[fd00:1::2]:8080" // A: on-link IPv6; B: no IPv6 at all
)

func newWorld(t testing.TB) *world {
	w := &world{}
	w.a, w.b, w.s = netnstest.TwoClients(t, "con")
	w.s.IP("addr", "add", "10.10.9.1/32", "dev", "lo")
	w.a.IP("addr", "add", "fd00:1::1/64", "dev", "veth0", "nodad")
	w.s.IP("addr", "add", "fd00:1::2/64", "dev", "vethA", "nodad")
	w.a.IP("route", "add", "blackhole", "10.10.7.0/24")
	// B: no default route, so 10.10.9.1 has no route; a smaller MTU; a reject route; a
	// policy rule that sends one TCP port to a table whose only route is unreachable.
	w.b.IP("link", "set", "veth0", "mtu", "1400")
	w.b.IP("route", "add", "prohibit", "10.10.7.0/24")
	w.b.IP("rule", "add", "ipproto", "tcp", "dport", "8081", "table", "100", "pref", "100")
	w.b.IP("route", "add", "unreachable", "default", "table", "100")
	// S answers every closed UDP port with a port unreachable, however often it is asked
	// (the default per-destination limit is a burst of 6, then 1/s).
	w.s.Exec("sh", "-c", "echo 0 > /proc/sys/net/ipv4/icmp_ratelimit")
	w.s.ListenTCP(":8080")
	w.s.ListenTCP(":8081")
	// ip netns exec bind-mounts /etc/netns/NAME/hosts over /etc/hosts: B's resolver puts
	// an IPv6 address first that B has no route for.
	w.a.WriteEtc("hosts", "10.10.9.1 svc.netdiff.test\n")
	w.b.WriteEtc("hosts", "fd00:9::1 svc.netdiff.test\n10.10.9.1 svc.netdiff.test\n")
	// The nameserver sits behind A's blackhole and B's prohibit route: the DNS probes fail
	// at once, send nothing, and cost no ICMP tokens the UDP assertions depend on.
	for _, ns := range []*netnstest.NS{w.a, w.b} {
		ns.WriteEtc("resolv.conf", "nameserver 10.10.7.53\n")
		apps.Store(ns.Name, ns.Start("sleep", "120").Process.Pid)
	}
	return w
}

func collect(t testing.TB, ns *netnstest.NS, targets ...string) *report.Report {
	args := []string{"--quiet", "--timeout", "3s", "--attempts", "5", "--burst", "10"}
	if pid, ok := apps.Load(ns.Name); ok {
		args = append(args, "--pid", strconv.Itoa(pid.(int)))
	}
	for _, tg := range targets {
		args = append(args, "--target", tg)
	}
	start := time.Now()
	rep := ns.Collect(args...)
	t.Logf("collect in %s with %d targets, attempts 5, burst 10: wall %s, report durationMs %d",
		ns.Name, len(targets), time.Since(start).Round(time.Millisecond), rep.DurationMS)
	return rep
}

func factsOf(t testing.TB, rep *report.Report) map[string]string {
	t.Helper()
	m := plugintest.Facts(t, Name, rep)
	for k, v := range plugintest.Facts(t, routeget.Name, rep) {
		m["routeget/"+k] = v
	}
	return m
}

func TestConnectPlantedDifferences(t *testing.T) {
	w := newWorld(t)
	targets := []string{svcNoRoute, onLink8080, onLink8081, noListener, rejectRoute, udpClosed, nameTarget, v6OnLink}
	ra, rb := collect(t, w.a, targets...), collect(t, w.b, targets...)
	fa, fb := factsOf(t, ra), factsOf(t, rb)

	plugintest.CheckFacts(t, map[string]map[string]string{"A": fa, "B": fb}, [][3]string{
		// The case study's failure, planted: no route, so the kernel refuses at once.
		{"A", RunKey(Nonblocking, false, svcNoRoute, "ipv4"), "ok 5/5"},
		{"B", RunKey(Nonblocking, false, svcNoRoute, "ipv4"), "ENETUNREACH 5/5 (immediate)"},
		{"B", RunKey(Nonblocking, true, svcNoRoute, "ipv4"), "ENETUNREACH 10/10 (immediate)"},
		{"B", RunKey(Blocking, false, svcNoRoute, "ipv4"), "ENETUNREACH 5/5"},
		{"B", "routeget/" + svcNoRoute + "/ipv4", "ENETUNREACH"},
		{"A", "routeget/" + svcNoRoute + "/ipv4", "unicast dev veth0 via 10.10.1.2 src 10.10.1.1 table main"},
		// The port-selective policy rule: route get with ipproto/dport sees it too.
		{"B", RunKey(Nonblocking, false, onLink8080, "ipv4"), "ok 5/5"},
		{"B", RunKey(Nonblocking, false, onLink8081, "ipv4"), "EHOSTUNREACH 5/5 (immediate)"},
		{"B", RunKey(Blocking, true, onLink8081, "ipv4"), "EHOSTUNREACH 10/10"},
		{"B", "routeget/" + onLink8081 + "/ipv4", "EHOSTUNREACH"},
		{"B", "routeget/" + onLink8080 + "/ipv4", "unicast dev veth0 src 10.10.2.1 table main"},
		{"A", RunKey(Nonblocking, false, onLink8081, "ipv4"), "ok 5/5"},
		// No listener: the SYN is answered with RST, seen after poll.
		{"A", RunKey(Nonblocking, false, noListener, "ipv4"), "ECONNREFUSED 5/5 (poll)"},
		{"B", RunKey(Blocking, false, noListener, "ipv4"), "ECONNREFUSED 5/5"},
		// Reject route types: blackhole is EINVAL, prohibit EACCES, both at once.
		{"A", RunKey(Nonblocking, false, rejectRoute, "ipv4"), "EINVAL 5/5 (immediate)"},
		{"B", RunKey(Nonblocking, false, rejectRoute, "ipv4"), "EACCES 5/5 (immediate)"},
		{"A", "routeget/" + rejectRoute + "/ipv4", "EINVAL"},
		{"B", "routeget/" + rejectRoute + "/ipv4", "EACCES"},
		{"A", UDPKey(udpClosed, "ipv4"), "ECONNREFUSED 5/5 (poll)"},
		// Path MTU follows B's smaller link MTU.
		{"A", PMTUKey(onLink8080, "ipv4"), "1500"},
		{"B", PMTUKey(onLink8080, "ipv4"), "1400"},
		// Names: resolver order, per family.
		{"A", ResolveKey(nameTarget), "ipv4 10.10.9.1"},
		{"B", ResolveKey(nameTarget), "ipv6 fd00:9::1, ipv4 10.10.9.1"},
		{"B", RunKey(Nonblocking, false, nameTarget, "ipv6"), "ENETUNREACH 5/5 (immediate)"},
		// IPv6 literals: the family is part of the key.
		{"A", RunKey(Nonblocking, false, v6OnLink, "ipv6"), "ok 5/5"},
		{"A", RunKey(Blocking, true, v6OnLink, "ipv6"), "ok 10/10"},
		{"A", PMTUKey(v6OnLink, "ipv6"), "1500"},
		{"A", "routeget/" + v6OnLink + "/ipv6", "unicast dev veth0 src fd00:1::1 table main"},
		{"B", RunKey(Nonblocking, false, v6OnLink, "ipv6"), "ENETUNREACH 5/5 (immediate)"},
		{"B", "routeget/" + v6OnLink + "/ipv6", "ENETUNREACH"},
	})
	for _, k := range []string{RunKey(Blocking, false, onLink8080, "ipv4") + "/latency"} {
		if !strings.HasPrefix(fa[k], "min ") {
			t.Errorf("A: %s = %q, want a latency", k, fa[k])
		}
	}

	c := &contract.Comparison{Subjects: []string{"A", "B"}, Reports: []*report.Report{ra, rb}}
	findings := map[string][]contract.Finding{}
	for name, rule := range map[string]contract.Rule{
		"fails":    ruleFailsHereWorksThere,
		"blocking": ruleBlockingVsNonblocking,
		"routeok":  ruleRouteOKConnectFails,
		"ipv6":     ruleIPv6FirstNoRoute,
		"intermit": ruleIntermittent,
		"burst":    ruleBurstFails,
		"pmtu":     rulePMTUDiffers,
		"udp":      ruleUDPDiffers,
		"errno":    ruleErrnoDiffers,
	} {
		findings[name] = rule(c)
	}
	has := func(rule, sub string) bool {
		for _, f := range findings[rule] {
			if strings.Contains(f.Message, sub) {
				return true
			}
		}
		return false
	}
	if !has("fails", "B: "+svcNoRoute+" fails: ENETUNREACH 5/5 (immediate) non-blocking, ENETUNREACH 5/5 blocking; A succeeds") {
		t.Errorf("no fails-here-works-there finding for %s: %+v", svcNoRoute, findings["fails"])
	}
	if !has("fails", onLink8081) || has("fails", "A:") {
		t.Errorf("fails-here-works-there for %s missing or blames A: %+v", onLink8081, findings["fails"])
	}
	if !has("pmtu", "1400 in B") {
		t.Errorf("no pmtu finding: %+v", findings["pmtu"])
	}
	if !has("ipv6", "B resolves "+nameTarget+" to IPv6 first (fd00:9::1) but has no IPv6 route (route lookup: ENETUNREACH)") {
		t.Errorf("no ipv6-first finding: %+v", findings["ipv6"])
	}
	if !has("errno", "non-blocking connect to "+rejectRoute+" (ipv4) fails everywhere, for different reasons: EACCES 5/5 (immediate) in B; EINVAL 5/5 (immediate) in A") {
		t.Errorf("no errno-differs finding for the reject routes: %+v", findings["errno"])
	}
	if has("errno", noListener) {
		t.Errorf("ECONNREFUSED in both is not a difference: %+v", findings["errno"])
	}
	// Nothing planted for these: a rule that fires here is a false alarm.
	for _, quiet := range []string{"blocking", "routeok", "intermit", "burst", "udp"} {
		if len(findings[quiet]) > 0 {
			t.Errorf("rule %s fired without a planted cause: %+v", quiet, findings[quiet])
		}
	}
}
