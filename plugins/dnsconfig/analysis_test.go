package dnsconfig

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/resolvconf"
)

// A query the prober sends to a nameserver itself is governed only by which servers
// resolv.conf names; a connect to a relative name by the whole resolver configuration.
func TestPathOfADirectQueryIsTheNameservers(t *testing.T) {
	rep := func(ns, search string) *report.Report {
		s := Section{ResolvConf: ResolvConf{Config: &resolvconf.Config{Nameservers: []string{ns}, Search: []string{search}, Options: []string{"ndots:5"}}}}
		return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{Name: plugintest.MustMarshal(t, s)}}
	}
	c := plugintest.Compare(t, Name, []string{"a", "b"}, []*report.Report{rep("10.96.0.10", "a.svc.cluster.local"), rep("10.96.0.99", "b.svc.cluster.local")})
	query := &diff.Probe{Target: "udp://10.96.0.99:53", Proto: "udp", Port: 53, Name: "kubernetes.default.svc.cluster.local"}
	if got := analysis.Path(c, query, 1); !slices.Contains(got, "resolv/nameservers") || slices.Contains(got, "resolv/search") || slices.Contains(got, "resolv/ndots") {
		t.Errorf("path of a direct query = %v, want resolv/nameservers without search and ndots", got)
	}
	connect := &diff.Probe{Target: "tcp://web:80", Proto: "tcp", Port: 80, Name: "web"}
	if got := analysis.Path(c, connect, 1); !slices.Contains(got, "resolv/search") || !slices.Contains(got, "hosts/web") {
		t.Errorf("path of a connect to a name = %v, want the search list and the hosts entry", got)
	}
}
