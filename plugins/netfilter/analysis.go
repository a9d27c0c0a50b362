package netfilter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: the namespace's own ruleset lies on every probe's path; where it cannot be
// read, the counters still show a local verdict (Infer).
var analysis = contract.Analysis{Role: contract.State, Path: path, Infer: inferReject, Describe: describeRow, Unread: unread}

// unread: the ruleset could not be listed (no CAP_NET_ADMIN in the prober's profile).
func unread(c *contract.Comparison, i int) string {
	if e, ok := c.Row("netfilter", "nft/error"); ok && e.Present(i) {
		return "its netfilter rules could not be read (nft: " + e.Values[i] + "): rerun with --profile netadmin to see them (or --via node, which reads them and its node's half from the node)"
	}
	return ""
}

// path: the nftables rules that could match the probe on its way out (output and
// postrouting hooks, and chains jumped to), the base chains' policies, and legacy
// iptables tables; the per-table and per-action counts only summarise the rules.
func path(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" {
		return nil
	}
	// The route lookup comes first: a packet with no route never reaches the output
	// hooks, so a failed lookup is never netfilter's doing.
	if p.Route != nil && i < len(p.Route) && p.Route[i].Known && p.Route[i].Err != "" {
		return nil
	}
	var out []string
	for _, r := range c.Section("netfilter") {
		switch {
		case strings.HasPrefix(r.Key, "nft/rule/"):
			if ruleMayMatch(r.Key, p, i) {
				out = append(out, r.Key)
			}
		case strings.HasPrefix(r.Key, "nft/chain/"), strings.HasPrefix(r.Key, "iptables/"):
			out = append(out, r.Key)
		}
	}
	return out
}

// ruleMayMatch reads a rule row's key ("nft/rule/inet/t/output[output]: meta l4proto
// tcp th dport 443 meta skuid 0") and rules out what cannot match the probe.
func ruleMayMatch(key string, p *contract.Probe, i int) bool {
	head, match, _ := strings.Cut(strings.TrimPrefix(key, "nft/rule/"), ": ")
	if h := hookOf(head); h != "" && h != "output" && h != "postrouting" {
		return false
	}
	f := strings.Fields(match)
	for k := 0; k+1 < len(f); k++ {
		v := f[k+1]
		if v == "!=" || k > 0 && f[k-1] == "!" {
			continue // negations: keep the rule
		}
		switch f[k] {
		case "-p":
			if (v == "tcp" || v == "udp" || v == "icmp") && v != p.Proto {
				return false
			}
		case "--dport":
			if lo, hi, ok := portRange(strings.Replace(v, ":", "-", 1)); ok && (p.Port < lo || p.Port > hi) {
				return false
			}
		case "--dports", "--ports":
			hit := false
			for _, r := range multiportPorts(v) {
				hit = hit || p.Port >= r[0] && p.Port <= r[1]
			}
			if !hit {
				return false
			}
		case "--uid-owner":
			if lo, hi, ok := portRange(v); ok && (p.UIDIn(i) < lo || p.UIDIn(i) > hi) {
				return false
			}
		case "-d":
			if p.Addr == nil || !p.Addr[i].IsValid() {
				continue
			}
			if pf, err := netip.ParsePrefix(v); err == nil && !pf.Contains(p.Addr[i]) {
				return false
			}
		case "tcp", "udp":
			if (v == "dport" || v == "sport") && f[k] != p.Proto {
				return false
			}
		case "l4proto", "protocol":
			if (v == "tcp" || v == "udp" || v == "icmp") && v != p.Proto {
				return false
			}
		case "dport":
			if lo, hi, ok := portRange(v); ok && (p.Port < lo || p.Port > hi) {
				return false
			}
		case "skuid":
			if lo, hi, ok := portRange(v); ok && (p.UIDIn(i) < lo || p.UIDIn(i) > hi) {
				return false
			}
		case "daddr":
			if p.Addr == nil || !p.Addr[i].IsValid() {
				continue
			}
			if pf, err := netip.ParsePrefix(v); err == nil && !pf.Contains(p.Addr[i]) {
				return false
			}
			if a, err := netip.ParseAddr(v); err == nil && a != p.Addr[i] {
				return false
			}
		}
	}
	return true
}

func hookOf(head string) string {
	if i := strings.LastIndexByte(head, '['); i >= 0 && strings.HasSuffix(head, "]") {
		return head[i+1 : len(head)-1]
	}
	return ""
}

func portRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	l, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	return l, h, err1 == nil && err2 == nil
}

// describeRow names a rule: "only web-b has an nftables rule in inet/t/output (hook
// output): meta l4proto tcp th dport 443 → reject with icmpx no-route".
func describeRow(c *contract.Comparison, r contract.Row, i, j int) string {
	rest, ok := strings.CutPrefix(r.Key, "nft/rule/")
	if !ok {
		return ""
	}
	head, match, _ := strings.Cut(rest, ": ")
	chain := head
	if k := strings.LastIndexByte(head, '['); k >= 0 {
		chain = head[:k]
		if h := hookOf(head); h != "" {
			chain += " (hook " + h + ")"
		}
	}
	_, _ = chain, match
	if !r.Present(i) {
		return fmt.Sprintf("%s lacks `%s` (%s has it)", c.Subjects[i], TypedRule(r.Key, r.Values[j]), c.Subjects[j])
	}
	return ruleSentence(c, r, i, j)
}

// rejectErrnos are what a connect gets from a REJECT rule: icmp-net-unreachable,
// icmp-host-unreachable, icmp-admin-prohibited, icmp-port-unreachable or tcp-reset.
var rejectErrnos = map[string]bool{"ENETUNREACH": true, "EHOSTUNREACH": true, "EACCES": true, "ECONNREFUSED": true}

// inferReject: the route lookup succeeds, the connect fails with an errno a REJECT
// produces, and the subject's own namespace sent ICMP unreachables while probing where a
// subject that does better sent none: something local rejected the packets, and in a pod's
// own namespace that is netfilter. A REJECT's ICMP error (port-unreachable, the default,
// gives ECONNREFUSED) is sent by the namespace itself and counted there; a tcp-reset is not
// (measured: nf_send_reset moves no Tcp OutRsts), and the namespace's own resets move for
// reasons of its own (its answer to a reply the node refused): they are no evidence.
func inferReject(c *contract.Comparison, p *contract.Probe, i int, better []int) *contract.Finding {
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
	return &contract.Finding{Severity: contract.Critical, Rule: "netfilter/local-reject", Keys: keys,
		Message: fmt.Sprintf("%s: a netfilter REJECT in its own network namespace refuses it: %s fails with %s although the route lookup succeeds (%s), and the namespace itself sent %s %s while probing (%s); %s",
			c.Subjects[i], targetWords(p), errno, routeWords(p.Route[i]), r.Values[i], what, strings.Join(others, ", "), verdict)}
}

func targetWords(p *contract.Probe) string {
	return p.Proto + " connect to " + strings.TrimPrefix(strings.TrimPrefix(p.Target, "tcp://"), "udp://")
}

func routeWords(r contract.RouteAnswer) string {
	s := r.Type
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Via != "" {
		s += " via " + r.Via
	}
	return s
}

// multiportPorts are the ports a multiport match names ("8080,9090", "1000:2000"), for
// the path: which probes it can catch.
func multiportPorts(list string) [][2]int {
	var out [][2]int
	for _, p := range strings.Split(list, ",") {
		lo, hi, ok := portRange(strings.Replace(p, ":", "-", 1))
		if ok {
			out = append(out, [2]int{lo, hi})
		}
	}
	return out
}
