package connect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

const tgt = "tcp://192.0.2.10:80"

func run(ok int, n int, errno, stage string) netprobe.Run {
	r := netprobe.Run{Attempts: n, OK: ok}
	if ok < n {
		r.Errors = []netprobe.ErrCount{{Errno: errno, Stage: stage, Count: n - ok}}
	}
	return r
}

func subject(t *testing.T, blocking, nonblocking, burst netprobe.Run, route *netprobe.RouteLookup) *report.Report {
	sec := Section{Attempts: blocking.Attempts, Targets: []TargetResult{{
		Target: tgt, Scheme: "tcp", Port: 80, Resolve: &netprobe.Resolution{Literal: true},
		Addresses: []AddrResult{{Address: "192.0.2.10", Family: "ipv4", Key: "ipv4",
			Blocking:    &MethodResult{Sequential: blocking},
			Nonblocking: &MethodResult{Sequential: nonblocking, Burst: &burst}}},
	}}}
	rep := &report.Report{Sections: map[string]json.RawMessage{}}
	rep.Sections[Name], _ = json.Marshal(sec)
	if route != nil {
		rep.Sections[routegetSection], _ = json.Marshal(routegetSchema{Lookups: []netprobe.RouteLookup{*route}})
	}
	return rep
}

func TestRulesOnTheCaseStudy(t *testing.T) {
	okRoute := &netprobe.RouteLookup{Target: tgt, Address: "192.0.2.10", Family: "ipv4", Key: "ipv4",
		Route: &netprobe.RouteAnswer{Type: "unicast", Table: "main", Dev: "eth0", Gateway: "169.254.1.1"}}
	// The HA pod: blocking sometimes works, non-blocking always ENETUNREACH at once,
	// the burst fails; the route looks fine. The debug pod: everything works.
	ha := subject(t, run(3, 5, "ENETUNREACH", ""), run(0, 5, "ENETUNREACH", netprobe.StageImmediate), run(0, 10, "ENETUNREACH", netprobe.StageImmediate), okRoute)
	dbg := subject(t, run(5, 5, "", ""), run(5, 5, "", ""), run(10, 10, "", ""), okRoute)
	c := &contract.Comparison{Subjects: []string{"ha", "debug"}, Reports: []*report.Report{ha, dbg, nil}}

	tests := []struct {
		rule contract.Rule
		want []string // one substring per expected finding
	}{
		{ruleFailsHereWorksThere, []string{"ha: " + tgt + " fails: ENETUNREACH 5/5 (immediate) non-blocking; debug succeeds"}},
		{ruleBlockingVsNonblocking, nil}, // blocking is intermittent, not all-ok: see below
		{ruleRouteOKConnectFails, []string{"ha: connect to " + tgt + " (192.0.2.10) fails (non-blocking ENETUNREACH 5/5 (immediate); blocking ok 3/5, ENETUNREACH 2/5) although a route lookup for it succeeds (unicast dev eth0 via 169.254.1.1 table main)"}},
		{ruleIntermittent, []string{"intermittent: 2 of 5 sequential blocking connects to " + tgt}},
		{ruleBurstFails, nil}, // sequential non-blocking already fails: not a burst-only problem
		{ruleIPv6FirstNoRoute, nil},
		{rulePMTUDiffers, nil},
		{ruleUDPDiffers, nil},
	}
	for i, tt := range tests {
		got := tt.rule(c)
		if len(got) != len(tt.want) {
			t.Errorf("rule %d: %d findings, want %d: %+v", i, len(got), len(tt.want), got)
			continue
		}
		for j, w := range tt.want {
			if !strings.Contains(got[j].Message, w) {
				t.Errorf("rule %d: finding %q does not contain %q", i, got[j].Message, w)
			}
			if got[j].Severity < contract.High || len(got[j].Keys) == 0 {
				t.Errorf("rule %d: severity %d keys %v", i, got[j].Severity, got[j].Keys)
			}
		}
	}

	// Blocking always works, non-blocking always fails: the signature of the case study.
	ha = subject(t, run(5, 5, "", ""), run(0, 5, "ENETUNREACH", netprobe.StageImmediate), run(10, 10, "", ""), nil)
	c.Reports[0] = ha
	got := ruleBlockingVsNonblocking(c)
	if len(got) != 1 || got[0].Severity != contract.Critical || !strings.Contains(got[0].Message, "(blocking: ok 5/5; non-blocking: ENETUNREACH 5/5 (immediate))") {
		t.Errorf("blocking-vs-nonblocking = %+v", got)
	}
	// Burst-only failures.
	ha = subject(t, run(5, 5, "", ""), run(5, 5, "", ""), run(4, 10, "ECONNREFUSED", netprobe.StagePoll), nil)
	c.Reports[0] = ha
	if got := ruleBurstFails(c); len(got) != 1 || !strings.Contains(got[0].Message, "ok 4/10, ECONNREFUSED 6/10 (poll)") {
		t.Errorf("burst-fails = %+v", got)
	}
	// Missing sections never panic and find nothing.
	empty := &contract.Comparison{Subjects: []string{"a", "b"}, Reports: []*report.Report{{}, nil}}
	for _, r := range []contract.Rule{ruleFailsHereWorksThere, ruleBlockingVsNonblocking, ruleRouteOKConnectFails, ruleIntermittent, ruleBurstFails, ruleIPv6FirstNoRoute, rulePMTUDiffers, ruleUDPDiffers} {
		if got := r(empty); len(got) != 0 {
			t.Errorf("findings without sections: %+v", got)
		}
	}
}
