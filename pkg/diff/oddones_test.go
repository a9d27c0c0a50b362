package diff

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

func TestOddOneOut(t *testing.T) {
	row := func(key string, kind probe.FactKind, vals ...string) Row {
		eq := true
		for _, v := range vals {
			eq = eq && v == vals[0]
		}
		return Row{Section: "routes", Key: key, Values: vals, Equal: eq, Kind: kind}
	}
	c := &Comparison{Subjects: []string{"web-1", "web-2", "web-3", "web-4"}, Rows: []Row{
		row("ipv4/main/unicast/default", probe.Exact, "via 10.0.0.1", "via 10.0.0.1", "-", "via 10.0.0.1"),
		row("eth0/mtu", probe.Exact, "1500", "1500", "1450", "1500"),
		row("latency", probe.ShowOnly, "1", "2", "3", "1"),
		row("split", probe.Exact, "a", "a", "b", "b"),
		row("same", probe.Exact, "x", "x", "x", "x"),
	}}
	c.Rows[0].Missing = []bool{false, false, true, false}
	fs := OddOneOutFinder(c)
	if len(fs) != 1 {
		t.Fatalf("findings = %+v, want one for web-3", fs)
	}
	f := fs[0]
	if !strings.HasPrefix(f.Message, "odd one out: web-3 differs from the majority of the 4 subjects in 2 fact(s): routes/ipv4/main/unicast/default is \"-\"") || f.Severity != High {
		t.Errorf("finding = %+v", f)
	}
	if len(OddOneOutFinder(&Comparison{Subjects: []string{"a", "b"}, Rows: c.Rows})) != 0 {
		t.Error("two subjects have no majority to be odd against")
	}
	sorted := sortFindings([]Finding{{Severity: Critical, Rule: "routes/x"}, f})
	if sorted[0].Rule != OddOneOutRule {
		t.Error("odd-one-out findings must come first")
	}
}
