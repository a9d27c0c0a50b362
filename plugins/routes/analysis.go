package routes

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lie, in every table, the route each subject's kernel would
// pick for the destination (the longest prefix that holds it, of any type), so a missing
// route, an extra blackhole or a route's own attributes (mtu, src, via) are found.
//
// A route is there because of other state: the kernel adds a connected route ("proto
// kernel") for an interface's address and removes it with the address, and it refuses (or
// drops) a route via a gateway it cannot reach on a link. So a differing route follows
// from a differing address on its device, or from what differs on the path to its gateway.
var analysis = contract.Analysis{Role: contract.State, Path: path, Describe: describeRow, DependsOn: dependsOn}

func dependsOn(c *contract.Comparison, r contract.Row, i int) contract.Dependency {
	rr, ok := parseKey(r.Key)
	if !ok {
		return contract.Dependency{}
	}
	var dep contract.Dependency
	// A route in a table that lookups reach only through a policy rule some subject
	// lacks is that rule's doing: the rule and the table it points to are one cause.
	if !consulted(c, rr.table) {
		for _, rule := range c.Section("rules") {
			if rule.Equal {
				continue
			}
			for k, v := range rule.Values {
				if rule.Present(k) && strings.Contains(" "+v+" ", " lookup "+rr.table+" ") {
					dep.Rows = append(dep.Rows, rule.ID())
					break
				}
			}
		}
	}
	for j, v := range r.Values {
		if !r.Present(j) {
			continue
		}
		f := strings.Fields(v)
		for k := 0; k+1 < len(f); k++ {
			switch {
			case f[k] == "dev":
				// The kernel removes the routes through a link that goes down.
				dep.Rows = append(dep.Rows, "interfaces/"+f[k+1]+"/state")
			case f[k] == "proto" && f[k+1] == "kernel":
				if _, dev, ok := strings.Cut(r.Key, " dev "); ok {
					dev, _, _ = strings.Cut(dev, " ")
					dep.Rows = append(dep.Rows, "interfaces/"+dev+"/addrs/"+rr.family)
				} else if d := valueField(f, "dev"); d != "" {
					dep.Rows = append(dep.Rows, "interfaces/"+d+"/addrs/"+rr.family)
				}
			case f[k] == "via":
				if gw, err := netip.ParseAddr(f[k+1]); err == nil && !rr.dst.Contains(gw) || err == nil && rr.dst.Bits() == 0 {
					to := contract.Probe{Target: gw.String(), Addr: make([]netip.Addr, len(c.Subjects)),
						Status: make([]contract.Status, len(c.Subjects))}
					for n := range to.Addr {
						to.Addr[n] = gw
					}
					dep.Paths = append(dep.Paths, to)
				}
			}
		}
		_ = j
	}
	return dep
}

// valueField is the word after name in a route's value ("dev" -> "eth0").
func valueField(f []string, name string) string {
	for k := 0; k+1 < len(f); k++ {
		if f[k] == name {
			return f[k+1]
		}
	}
	return ""
}

// rowRoute is a route row's key read back: "ipv4/main/unicast/10.0.0.0/24 dev eth0".
type rowRoute struct {
	family, table, typ string
	dst                netip.Prefix
}

func parseKey(k string) (rowRoute, bool) {
	parts := strings.SplitN(k, "/", 4)
	if len(parts) != 4 || (parts[0] != "ipv4" && parts[0] != "ipv6") {
		return rowRoute{}, false
	}
	dst, _, _ := strings.Cut(parts[3], " ")
	r := rowRoute{family: parts[0], table: parts[1], typ: parts[2]}
	switch {
	case dst == "default" && r.family == "ipv4":
		r.dst = netip.MustParsePrefix("0.0.0.0/0")
	case dst == "default":
		r.dst = netip.MustParsePrefix("::/0")
	case strings.Contains(dst, "/"):
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			return rowRoute{}, false
		}
		r.dst = p
	default:
		a, err := netip.ParseAddr(dst)
		if err != nil {
			return rowRoute{}, false
		}
		r.dst = netip.PrefixFrom(a, a.BitLen())
	}
	return r, true
}

func path(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Addr == nil || !p.Addr[i].IsValid() {
		return nil
	}
	dst := p.Addr[i].Unmap()
	family := "ipv4"
	if dst.Is6() {
		family = "ipv6"
	}
	// best[subject][table] is the longest matching route that subject has in that table.
	type pick struct {
		key  string
		bits int
	}
	seen := map[string]bool{}
	var out []string
	for s := range c.Subjects {
		best := map[string]pick{}
		for _, r := range c.Section(Name) {
			if !r.Present(s) {
				continue
			}
			rr, ok := parseKey(r.Key)
			if !ok || rr.family != family || !rr.dst.Contains(dst) || !consulted(c, rr.table) {
				continue
			}
			if b, ok := best[rr.table]; !ok || rr.dst.Bits() > b.bits {
				best[rr.table] = pick{r.Key, rr.dst.Bits()}
			}
		}
		for _, b := range best {
			if !seen[b.key] {
				seen[b.key] = true
				out = append(out, b.key)
			}
		}
	}
	return out
}

func describeRow(c *contract.Comparison, r contract.Row, i, j int) string {
	rr, ok := parseKey(r.Key)
	if !ok {
		return ""
	}
	to := "a route to " + rr.dst.String()
	if rr.dst.Bits() == 0 {
		to = "an " + strings.ToUpper(rr.family[:2]) + rr.family[2:] + " default route"
	}
	where := ""
	if rr.table != "main" {
		where = " in table " + rr.table
	}
	si, sj := c.Subjects[i], c.Subjects[j]
	switch {
	case !r.Present(i):
		kind := ""
		if rr.typ != "unicast" {
			kind = rr.typ + " "
		}
		if rr.dst.Bits() == 0 {
			return fmt.Sprintf("%s has no %s%s%s (%s: %s)", si, kind, to[3:], where, sj, r.Values[j])
		}
		return fmt.Sprintf("%s has no %sroute to %s%s (%s: %s)", si, kind, rr.dst, where, sj, r.Values[j])
	case !r.Present(j):
		if rr.typ != "unicast" && rr.typ != "local" && rr.typ != "broadcast" {
			return fmt.Sprintf("%s has `%s %s%s` (%s has no such route)", si, rr.typ, routeDst(rr.dst), strings.Replace(where, " in table ", " table ", 1), sj)
		}
		return fmt.Sprintf("%s has `%s %s%s` (%s has no such route)", si, routeDst(rr.dst), r.Values[i], strings.Replace(where, " in table ", " table ", 1), sj)
	}
	return fmt.Sprintf("%s's %s route to %s%s is %q (%s: %q)", si, rr.typ, rr.dst, where, r.Values[i], sj, r.Values[j])
}

// consulted reports whether lookups reach table t through a policy rule every subject
// shares (or t is one of the kernel's own): a table reached only through a rule that one
// subject lacks is that rule's doing, and the rule is the cause to name.
func consulted(c *contract.Comparison, t string) bool {
	switch t {
	case "main", "local", "default":
		return true
	}
	for _, r := range c.Section("rules") {
		if r.Equal && len(r.Values) > 0 && strings.Contains(" "+r.Values[0]+" ", " lookup "+t+" ") {
			return true
		}
	}
	return false
}

// routeDst is a route's destination as `ip route` prints it: "default", an address for
// a full-length prefix, else the prefix.
func routeDst(p netip.Prefix) string {
	switch {
	case p.Bits() == 0:
		return "default"
	case p.Bits() == p.Addr().BitLen():
		return p.Addr().String()
	}
	return p.String()
}
