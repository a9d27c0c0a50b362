package neighbours

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lies the neighbour entry of its route's gateway, or, for a
// destination on the link (a route without a gateway), of the destination itself. An entry
// is made when something is sent to that neighbour, so a differing entry follows from
// whatever differs on the path to the neighbour's address (a missing route sends
// nothing to the gateway, and no entry is made).
var analysis = contract.Analysis{Role: contract.State, Hop: func(contract.Row) contract.Hop { return contract.HopPodInterface }, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	var out []string
	for k, r := range p.Route {
		hop := r.Via
		if hop == "" && r.Type == "unicast" && k < len(p.Addr) && p.Addr[k].IsValid() {
			hop = c.NormaliseFor(k, p.Addr[k].String())
		}
		if r.Dev != "" && hop != "" && !slices.Contains(out, r.Dev+"/"+hop) {
			out = append(out, r.Dev+"/"+hop, r.Dev+"/"+hop+"/state")
		}
	}
	return out
}, DependsOn: dependsOn, Describe: describeRow}

// describeRow names an entry as `ip neigh` prints it: "pod-b has `10.77.0.1 dev eth0
// lladdr 02:00:00:00:00:99` (ip neigh: pod-a: lladdr of the veth peer)".
func describeRow(c *contract.Comparison, r contract.Row, i, j int) string {
	dev, rest, ok := strings.Cut(r.Key, "/")
	if !ok {
		return ""
	}
	host, attr, _ := strings.Cut(rest, "/")
	val := func(k int) string {
		if !r.Present(k) {
			return "none"
		}
		if attr != "" {
			return attr + " " + r.Values[k]
		}
		return r.Values[k]
	}
	if !r.Present(i) {
		return c.Subjects[i] + " has no `ip neigh` entry for " + host + " dev " + dev + " (" + c.Subjects[j] + ": " + val(j) + ")"
	}
	return c.Subjects[i] + " has `" + host + " dev " + dev + " " + val(i) + "` (ip neigh; " + c.Subjects[j] + ": " + val(j) + ")"
}

// dependsOn: the entry "eth0/169.254.1.1" (or its state) follows from what is routed via
// 169.254.1.1 (and whether that next hop answers). A gateway normalised away
// (<gateway>) is the subject's own.
func dependsOn(c *contract.Comparison, r contract.Row, i int) contract.Dependency {
	_, host, ok := strings.Cut(r.Key, "/")
	if !ok {
		return contract.Dependency{}
	}
	host, _, _ = strings.Cut(host, "/")
	a, err := netip.ParseAddr(host)
	if err != nil {
		if host != contract.SelfGateway || i >= len(c.Identities) || len(c.Identities[i].Gateways) == 0 {
			return contract.Dependency{}
		}
		if a, err = netip.ParseAddr(c.Identities[i].Gateways[0]); err != nil {
			return contract.Dependency{}
		}
	}
	return contract.Dependency{Gateway: a}
}
