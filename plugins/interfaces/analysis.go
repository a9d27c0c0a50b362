package interfaces

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lies the interface its route leaves by (in any subject):
// its MTU, state, flags and addresses. The kernel drops a link's IPv6 addresses when it
// goes down, so those follow from the link's state.
var analysis = contract.Analysis{Role: contract.State, Hop: func(contract.Row) contract.Hop { return contract.HopPodInterface }, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.Route {
		if r.Dev == "" || seen[r.Dev] {
			continue
		}
		seen[r.Dev] = true
		// Only the probe's own family's addresses: an IPv6 link-local address still
		// settling says nothing about an IPv4 connect.
		for _, k := range []string{"mtu", "state", "flags", "type", "addrs/" + p.Family()} {
			out = append(out, r.Dev+"/"+k)
		}
	}
	return out
}, Describe: describe, Object: func(r contract.Row) string {
	dev, _, ok := strings.Cut(r.Key, "/")
	if !ok {
		return ""
	}
	return dev
}, DependsOn: func(c *contract.Comparison, r contract.Row, i int) contract.Dependency {
	if dev, ok := strings.CutSuffix(r.Key, "/addrs/ipv6"); ok {
		return contract.Dependency{Rows: []string{Name + "/" + dev + "/state"}}
	}
	return contract.Dependency{}
}}

// describe words a differing address row as `ip addr` would show the difference.
func describe(c *contract.Comparison, r contract.Row, i, j int) string {
	dev, fam, ok := strings.Cut(r.Key, "/addrs/")
	if !ok {
		return ""
	}
	fam = strings.ToUpper(fam[:2]) + fam[2:]
	other := r.Values[j]
	if !r.Present(j) || other == "" {
		other = "none"
	}
	if !r.Present(i) || strings.TrimSpace(r.Values[i]) == "" {
		return fmt.Sprintf("%s's %s has no %s address (%s: %s)", c.Subjects[i], dev, fam, c.Subjects[j], other)
	}
	return fmt.Sprintf("%s's %s has the %s addresses %s (%s: %s)", c.Subjects[i], dev, fam, r.Values[i], c.Subjects[j], other)
}
