package dnsconfig

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
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
	query := &contract.Probe{Target: "udp://10.96.0.99:53", Proto: "udp", Port: 53, Name: "kubernetes.default.svc.cluster.local"}
	if got := analysis.Path(c, query, 1); !slices.Contains(got, "resolv/nameservers") || slices.Contains(got, "resolv/search") || slices.Contains(got, "resolv/ndots") {
		t.Errorf("path of a direct query = %v, want resolv/nameservers without search and ndots", got)
	}
	connect := &contract.Probe{Target: "tcp://web:80", Proto: "tcp", Port: 80, Name: "web"}
	if got := analysis.Path(c, connect, 1); !slices.Contains(got, "resolv/search") || !slices.Contains(got, "hosts/web") {
		t.Errorf("path of a connect to a name = %v, want the search list and the hosts entry", got)
	}
}

// Pods of two namespaces have their own namespace first in the search list by design;
// another search list is still a difference.
func TestNamespaceSearchDomainIsNotADifference(t *testing.T) {
	search := func(s ...string) string {
		sec := Section{ResolvConf: ResolvConf{Config: &resolvconf.Config{Nameservers: []string{"10.96.0.10"}, Search: s}}}
		for _, f := range facts(&sec) {
			if f.Key == "resolv/search" {
				return f.Value
			}
		}
		return ""
	}
	a := search("shop.svc.cluster.local", "svc.cluster.local", "cluster.local")
	b := search("shop-staging.svc.cluster.local", "svc.cluster.local", "cluster.local")
	if a != b || a != "<namespace>.svc.cluster.local svc.cluster.local cluster.local" {
		t.Errorf("search lists of two namespaces: %q and %q", a, b)
	}
	if c := search("shop.svc.cluster.local", "svc.cluster.local", "corp.example"); c == a {
		t.Errorf("an extra search domain was normalised away: %q", c)
	}
	if d := search("svc.cluster.local", "cluster.local"); d != "svc.cluster.local cluster.local" {
		t.Errorf("a search list without a namespace changed: %q", d)
	}
}
