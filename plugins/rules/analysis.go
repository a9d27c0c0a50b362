package rules

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lie the policy rules whose selectors match it: its
// destination, protocol, ports, the uid it ran as in that subject (root's, or the app's
// for a probe run as the app), no firewall mark, and iif lo (locally generated traffic).
var analysis = contract.Analysis{Role: contract.State, Path: path}

func path(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" || p.Addr == nil || !p.Addr[i].IsValid() {
		return nil
	}
	var out []string
	for _, r := range c.Section(Name) {
		if matches(r.Key, p, i) {
			out = append(out, r.Key)
		}
	}
	return out
}

// matches reads a row key ("ipv4/100 from all ipproto tcp dport 8081 uidrange 0-0") and
// says whether the rule could select probe p as subject i sent it.
func matches(key string, p *contract.Probe, i int) bool {
	family, rest, ok := strings.Cut(key, "/")
	if !ok || family != p.Family() {
		return false
	}
	f := strings.Fields(rest)
	if len(f) < 1 {
		return false
	}
	sel := map[string]string{}
	for k := 1; k+1 < len(f); k += 2 {
		if f[k] == "not" {
			return true // an inverted selector: keep it on the path rather than reason about it
		}
		sel[f[k]] = f[k+1]
	}
	dst := p.Addr[i]
	if to, ok := sel["to"]; ok && !prefixHolds(to, dst) {
		return false
	}
	if proto, ok := sel["ipproto"]; ok && proto != p.Proto {
		return false
	}
	if dp, ok := sel["dport"]; ok && !inRange(dp, p.Port) {
		return false
	}
	if uid, ok := sel["uidrange"]; ok && !inRange(uid, p.UIDIn(i)) {
		return false
	}
	if _, ok := sel["fwmark"]; ok {
		return false // the probes carry no mark
	}
	if iif, ok := sel["iif"]; ok && iif != "lo" {
		return false
	}
	if oif, ok := sel["oif"]; ok && p.Route != nil && p.Route[i].Dev != "" && p.Route[i].Dev != oif {
		return false
	}
	return true
}

func prefixHolds(s string, a netip.Addr) bool {
	if s == "all" {
		return true
	}
	if pf, err := netip.ParsePrefix(s); err == nil {
		return pf.Contains(a)
	}
	if b, err := netip.ParseAddr(s); err == nil {
		return b == a
	}
	return true // a placeholder (<self>): keep it
}

// inRange reads "53" or "1000-2000".
func inRange(s string, n int) bool {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	return err1 != nil || err2 != nil || n >= l && n <= h
}
