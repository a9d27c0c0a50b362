package nodeside

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: the node's half of the pod's network lies on the path of every probe the pod
// sends, both ways: out through the host end of its veth (its sysctls: proxy_arp answers
// the pod's gateway, rp_filter checks the pod's source) and the node's forwarding and
// netfilter rules that name the pod; back through the node's route to the pod's address
// (for its own packets and for replies arriving from beyond it), the neighbour entry
// that gives the pod's MAC, and the same veth. The node's policy rules are not on the
// path by themselves: the route lookups they steer are, and name them. Conntrack only records traffic and is not on the path.
// Felix's chains for the pod's veth are on that path too; what differs in them follows
// from the policy the pod section names (dependsOn).
var analysis = contract.Analysis{Role: contract.State, Place: contract.OnNode, Path: path, Unread: unread, DependsOn: dependsOn, Hop: hop}

// hop: the host end of the veth and its sysctls are drawn at the veth, the rest at the node.
func hop(r contract.Row) contract.Hop {
	if r.Key == "veth" || strings.HasPrefix(r.Key, "veth/") || strings.HasPrefix(r.Key, "sysctl/") || strings.HasPrefix(r.Key, "neigh/") {
		return contract.HopHostVeth
	}
	return contract.HopNode
}

func path(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" {
		return nil
	}
	var out []string
	for _, r := range c.Section(Name) {
		if onPath(r.Key) {
			out = append(out, r.Key)
			continue
		}
		// The node's neighbour entry for the pod is on the way back where it was set
		// (a MAC, NOARP); one the node could not resolve follows from the pod not
		// answering ARP, whose cause is the pod's own.
		if isWayBackKey(r.Key) && strings.HasPrefix(r.Key, "neigh/") && r.Present(i) && neighSet(r.Values[i]) {
			out = append(out, r.Key)
		}
	}
	return out
}

func onPath(key string) bool {
	switch {
	case key == "veth", strings.HasPrefix(key, "veth/") && key != "veth/name":
		return true
	case strings.HasPrefix(key, "route-reply/"):
		return !strings.HasSuffix(key, "/from")
	case strings.HasPrefix(key, "sysctl/"), strings.HasPrefix(key, "route-get/"),
		strings.HasPrefix(key, "route/"), strings.HasPrefix(key, "route-error/"),
		strings.HasPrefix(key, "netfilter/"), strings.HasPrefix(key, "felix-dispatch/"):
		return true
	case strings.HasPrefix(key, felixRowPrefix) && strings.Contains(key, "/drop/"):
		// What Felix's chains did with the pod's packets is on the path; which policy
		// chains they jump to is not by itself (a policy that admits everything the pod
		// sends changes nothing): the pod section's verdicts say which policies decide.
		return true
	}
	return false
}

// unread: the node pod could not list the node's netfilter rules.
func unread(c *contract.Comparison, i int) string {
	if r, ok := c.Row(Name, "netfilter"); ok && r.Present(i) && strings.HasPrefix(r.Values[i], "unreadable") {
		return "the node's netfilter rules could not be read (" + r.Values[i] + "): the node pod needs CAP_NET_ADMIN"
	}
	return ""
}
