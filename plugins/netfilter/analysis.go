package netfilter

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: the namespace's own ruleset lies on every probe's path; where it cannot be
// read, the counters still show a local verdict (Infer).
var analysis = diff.Analysis{Section: "netfilter", Role: diff.State, Path: path, Infer: inferReject}

func path(c *diff.Comparison, p *diff.Probe, i int) []string {
	if p.Proto == "" {
		return nil
	}
	var out []string
	for _, r := range c.Section("netfilter") {
		if r.Key != "conntrack" && !strings.HasPrefix(r.Key, "visible/") {
			out = append(out, r.Key)
		}
	}
	return out
}

// rejectErrnos are what a connect gets from a REJECT rule: icmp-net-unreachable,
// icmp-host-unreachable, icmp-admin-prohibited, icmp-port-unreachable or tcp-reset.
var rejectErrnos = map[string]bool{"ENETUNREACH": true, "EHOSTUNREACH": true, "EACCES": true, "ECONNREFUSED": true}

// inferReject: the route lookup succeeds, the connect fails with an errno a REJECT
// produces, and the subject's own namespace sent ICMP unreachables (or TCP resets) while
// probing where a subject that does better sent none: something local rejected the
// packets, and in a pod's own namespace that is netfilter.
func inferReject(c *diff.Comparison, p *diff.Probe, i int, better []int) *diff.Finding {
	if p.Proto != "tcp" && p.Proto != "udp" || p.Route == nil || !p.Route[i].Known || p.Route[i].Err != "" {
		return nil
	}
	errno, _, _ := strings.Cut(strings.TrimPrefix(p.Detail[i], "error "), " ")
	if !rejectErrnos[errno] {
		return nil
	}
	counter, what := "snmp/Icmp/OutDestUnreachs", "ICMP destination-unreachable messages (Icmp OutDestUnreachs)"
	if p.Family() == "ipv6" {
		counter, what = "snmp6/Icmp6OutDestUnreachs", "ICMPv6 destination-unreachable messages (Icmp6OutDestUnreachs)"
	}
	if errno == "ECONNREFUSED" {
		counter, what = "snmp/Tcp/OutRsts", "TCP resets (Tcp OutRsts)"
	}
	r, ok := c.Row("counters", counter)
	if !ok || r.Equal || !r.Present(i) || r.Values[i] == "0" {
		return nil
	}
	var others []string
	for _, j := range better {
		if r.Present(j) && r.Values[j] != "0" {
			return nil
		}
		others = append(others, c.Subjects[j]+": "+r.Values[j])
	}
	keys := []string{"counters/" + counter, p.Row}
	verdict := "its rules differ: see the netfilter rows"
	if e, ok := c.Row("netfilter", "nft/error"); ok && e.Present(i) {
		keys = append(keys, "netfilter/nft/error")
		verdict = fmt.Sprintf("its rules cannot be read (nft: %s): rerun with --profile netadmin to name the rule", e.Values[i])
	}
	return &diff.Finding{Severity: diff.Critical, Rule: "netfilter/local-reject", Keys: keys,
		Message: fmt.Sprintf("%s: a netfilter REJECT in its own network namespace is the likely cause: %s fails with %s although the route lookup succeeds (%s), and the namespace itself sent %s %s while probing (%s); %s",
			c.Subjects[i], targetWords(p), errno, routeWords(p.Route[i]), r.Values[i], what, strings.Join(others, ", "), verdict)}
}

func targetWords(p *diff.Probe) string {
	return p.Proto + " connect to " + strings.TrimPrefix(strings.TrimPrefix(p.Target, "tcp://"), "udp://")
}

func routeWords(r diff.RouteAnswer) string {
	s := r.Type
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Via != "" {
		s += " via " + r.Via
	}
	return s
}
