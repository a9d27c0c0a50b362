package routes

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestPlantedRouteDifferences runs the real prober in two namespaces: pod-a has IPv4 and
// IPv6 default routes and a route with mtu 1400; pod-b has no default route, the same
// route without an mtu, and a blackhole route.
func TestPlantedRouteDifferences(t *testing.T) {
	a, b := netnstest.New(t, "rta"), netnstest.New(t, "rtb")
	netnstest.Veth(t, a, "10.72.0.1/24", b, "10.72.0.2/24")
	a.IP("route", "add", "default", "via", "10.72.0.2")
	a.IP("-6", "route", "add", "default", "via", "fe80::1", "dev", "veth0")
	a.IP("route", "add", "10.99.0.0/16", "dev", "veth0", "mtu", "1400")
	b.IP("route", "add", "10.99.0.0/16", "dev", "veth0")
	b.IP("route", "add", "blackhole", "10.98.0.0/16")
	a.IP("route", "add", "unreachable", "default", "table", "100")
	b.IP("route", "add", "unreachable", "default", "table", "100")

	reps := []*report.Report{a.Collect("--quiet"), b.Collect("--quiet")}
	var sa, sb Section
	netnstest.Section(t, reps[0], Name, &sa)
	netnstest.Section(t, reps[1], Name, &sb)
	if r := defaultRoute(&sa, "ipv4"); r == nil || r.Gw != "10.72.0.2" || r.Dev != "veth0" {
		t.Errorf("pod-a default route = %+v", r)
	}
	if r := defaultRoute(&sb, "ipv4"); r != nil {
		t.Errorf("pod-b has a default route %+v, planted none", r)
	}
	if sa.Counts["ipv4/100"] != 1 || sa.Counts["ipv4/local"] == 0 || sa.Counts["ipv6/local"] == 0 {
		t.Errorf("every table must be listed, counts = %v", sa.Counts)
	}

	c := plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)
	rows := plugintest.RowMap(c)
	wantRows := map[string][2]string{
		// pod-a's gateway is pod-b's own address, so the engine shows it as <peer>.
		"ipv4/main/unicast/default":                {"via <peer> dev veth0 proto boot", "-"},
		"ipv4/main/unicast/10.99.0.0/16 dev veth0": {"dev veth0 proto boot scope link mtu 1400", "dev veth0 proto boot scope link"},
		"ipv4/main/blackhole/10.98.0.0/16":         {"-", "proto boot"},
		"ipv4/100/unreachable/default":             {"proto boot", "proto boot"},
		"ipv4/local/local/<self> dev veth0":        {"dev veth0 proto kernel scope host src <self>", "dev veth0 proto kernel scope host src <self>"},
		"ipv4/main/unicast/10.72.0.0/24 dev veth0": {"dev veth0 proto kernel scope link src <self>", "dev veth0 proto kernel scope link src <self>"},
		"ipv6/main/unicast/default metric 1024":    {"via fe80::1 dev veth0 proto boot", "-"},
	}
	for k, want := range wantRows {
		r, ok := rows[k]
		if !ok {
			t.Errorf("no row %q", k)
			continue
		}
		if r.Values[0] != want[0] || r.Values[1] != want[1] {
			t.Errorf("row %q = %q, want %q", k, r.Values, want)
		}
		if r.Equal != (want[0] == want[1]) {
			t.Errorf("row %q equal = %v", k, r.Equal)
		}
	}

	var got []contract.Finding
	for _, rule := range []string{"no-default-route", "default-gateway-differs", "reject-route", "mtu-differs"} {
		got = append(got, diff.RunRule(Name+"/"+rule, c)...)
	}
	want := []struct {
		rule string
		sev  contract.Severity
		text string
	}{
		{"routes/no-default-route", contract.Critical, "pod-b has no IPv4 default route (pod-a has `default via 10.72.0.2 dev veth0 proto boot`)"},
		{"routes/no-default-route", contract.Critical, "pod-b has no IPv6 default route"},
		{"routes/reject-route", contract.High, "pod-b has `blackhole 10.98.0.0/16` (pod-a has no such route)"},
		{"routes/mtu-differs", contract.Medium, "route ipv4/main/unicast/10.99.0.0/16 dev veth0 differs (pod-a 1400, pod-b link MTU)"},
	}
	for _, w := range want {
		found := false
		for _, f := range got {
			found = found || (f.Rule == w.rule && f.Severity == w.sev && strings.Contains(f.Message, w.text))
		}
		if !found {
			t.Errorf("no %s finding containing %q", w.rule, w.text)
		}
	}
	if e := plugintest.EngineFindings(t, Name, []string{"pod-a", "pod-b"}, reps); e["routes/no-default-route"] != 2 || e["routes/reject-route"] != 1 || e["routes/mtu-differs"] != 1 || len(e) != 3 {
		t.Errorf("engine findings = %v", e)
	}
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("finding: %s %s", f.Rule, f.Message)
		}
		t.Errorf("got %d findings, want %d", len(got), len(want))
	}
}
