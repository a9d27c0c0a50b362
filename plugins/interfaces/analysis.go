package interfaces

import "github.com/netdiff/kubectl-netdiff/pkg/contract"

// analysis: on a probe's path lies the interface its route leaves by (in any subject):
// its MTU, state, flags and addresses.
var analysis = contract.Analysis{Role: contract.State, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.Route {
		if r.Dev == "" || seen[r.Dev] {
			continue
		}
		seen[r.Dev] = true
		for _, k := range []string{"mtu", "state", "flags", "type", "addrs/ipv4", "addrs/ipv6"} {
			out = append(out, r.Dev+"/"+k)
		}
	}
	return out
}}
