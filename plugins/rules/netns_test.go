package rules

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestPlantedDportRule: pod-b sends TCP to port 8081 to table 100, which holds only an
// unreachable default. The rule must show in the report, and the finding must name the
// rule and what table 100 holds.
func TestPlantedDportRule(t *testing.T) {
	a, b := netnstest.New(t, "rua"), netnstest.New(t, "rub")
	netnstest.Veth(t, a, "10.75.1.1/24", b, "10.75.1.2/24")
	for _, ns := range []*netnstest.NS{a, b} {
		ns.IP("route", "add", "unreachable", "default", "table", "100")
	}
	b.IP("rule", "add", "priority", "1000", "ipproto", "tcp", "dport", "8081", "table", "100")
	a.ListenTCP("10.75.1.1:8081")

	// The planted rule is real: from pod-b a connect to port 8081 fails with EHOSTUNREACH (an unreachable route).
	err := b.Do(func() error {
		c, err := net.DialTimeout("tcp", "10.75.1.1:8081", time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("connect from pod-b to :8081 = %v, want EHOSTUNREACH from the planted rule", err)
	}

	reps := []*report.Report{a.Collect("--quiet"), b.Collect("--quiet")}
	var sb Section
	netnstest.Section(t, reps[1], Name, &sb)
	var planted *Rule
	for i, r := range sb.Rules {
		if r.Priority == 1000 {
			planted = &sb.Rules[i]
		}
	}
	if planted == nil || planted.IPProto != "tcp" || planted.Dport != "8081" || planted.Table != "100" || planted.Action != "lookup" {
		t.Fatalf("pod-b rule 1000 = %+v", planted)
	}
	if len(sb.Rules) != 6 || sb.Total != 6 {
		t.Errorf("pod-b has %d rules (total %d), want 3 IPv4 defaults, the planted one and 2 IPv6 defaults: %+v", len(sb.Rules), sb.Total, sb.Rules)
	}

	c := plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)
	rows := plugintest.RowMap(c)
	if r := rows["ipv4/1000 from all ipproto tcp dport 8081"]; r.Equal || r.Values[0] != "-" || r.Values[1] != "lookup 100" {
		t.Errorf("planted rule row = %+v", r)
	}
	if r := rows["ipv4/32766 from all"]; !r.Equal || r.Values[0] != "lookup main" {
		t.Errorf("main rule row = %+v", r)
	}
	if e := plugintest.EngineFindings(t, Name, []string{"pod-a", "pod-b"}, reps); e["rules/only-in-some"] != 1 || len(e) != 1 {
		t.Errorf("engine findings = %v", e)
	}
	fs := OnlyInSome(c)
	if len(fs) != 1 {
		t.Fatalf("findings = %+v, want one", fs)
	}
	want := "pod-b has `1000: from all ipproto tcp dport 8081 lookup 100`, table 100 holding `unreachable default` (pod-a has no such rule)"
	if fs[0].Severity != contract.High || !strings.Contains(fs[0].Message, want) {
		t.Errorf("finding = %+v, want High containing %q", fs[0], want)
	}
}
