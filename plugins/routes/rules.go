package routes

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// defaultRoute is the subject's usable default route of a family: a unicast default,
// main table first. Reject-type defaults do not count: they are the absence of a route.
func defaultRoute(s *Section, family string) *Route {
	var best *Route
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Family != family || !r.IsDefault() || r.Type != "unicast" {
			continue
		}
		if best == nil || (r.Table == "main" && best.Table != "main") || (r.Table == best.Table && r.Metric < best.Metric) {
			best = r
		}
	}
	return best
}

func describe(r *Route) string {
	s := "default"
	if v := r.Value(); v != "" {
		s += " " + v
	}
	if r.Table != "main" {
		s += " table " + r.Table
	}
	return s
}

// NoDefaultRoute is the case study's cause: without a default route, connects to any
// address outside the subject's own subnets fail at once with ENETUNREACH.
func NoDefaultRoute(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	var out []contract.Finding
	for _, fam := range []string{"ipv4", "ipv6"} {
		var with []string
		var without []int
		var keys []string
		for i, s := range secs {
			if s == nil || s.Errors[fam] != nil {
				continue
			}
			if r := defaultRoute(s, fam); r != nil {
				with = append(with, fmt.Sprintf("%s has `%s`", c.Subjects[i], describe(r)))
				keys = appendOnce(keys, Name+"/"+r.Key())
			} else {
				without = append(without, i)
			}
		}
		if len(with) == 0 {
			continue
		}
		label := map[string]string{"ipv4": "IPv4", "ipv6": "IPv6"}[fam]
		for _, i := range without {
			out = append(out, contract.Finding{
				Severity: contract.Critical,
				Message:  fmt.Sprintf("%s has no %s default route (%s)", c.Subjects[i], label, strings.Join(with, "; ")),
				Keys:     keys,
			})
		}
	}
	return out
}

// DefaultGatewayDiffers compares the default routes' gateway and device. Pods on
// different nodes often have different gateways by design, so that case is only Info.
func DefaultGatewayDiffers(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	var out []contract.Finding
	for _, fam := range []string{"ipv4", "ipv6"} {
		var parts []string
		var keys []string
		distinct := map[string]bool{}
		for i, s := range secs {
			if s == nil {
				continue
			}
			r := defaultRoute(s, fam)
			if r == nil {
				continue
			}
			gw := gateway(r)
			distinct[gw] = true
			parts = append(parts, c.Subjects[i]+" "+gw)
			keys = appendOnce(keys, Name+"/"+r.Key())
		}
		if len(distinct) < 2 {
			continue
		}
		sev, why := contract.Medium, "traffic leaves through a different next hop"
		if differentNodes(c) {
			sev, why = contract.Info, "expected when the subjects run on different nodes"
		}
		out = append(out, contract.Finding{
			Severity: sev,
			Message:  fmt.Sprintf("the %s default gateway differs (%s): %s", fam, strings.Join(parts, ", "), why),
			Keys:     keys,
		})
	}
	return out
}

func gateway(r *Route) string {
	var p []string
	if r.Gw != "" {
		p = append(p, "via "+r.Gw)
	}
	for _, nh := range r.Nexthops {
		p = append(p, "nexthop via "+nh.Gw)
	}
	if r.Dev != "" {
		p = append(p, "dev "+r.Dev)
	}
	return strings.Join(p, " ")
}

func differentNodes(c *contract.Comparison) bool {
	nodes := map[string]bool{}
	for _, r := range c.Reports {
		if r == nil || r.Subject == nil || r.Subject.Node == "" {
			return false
		}
		nodes[r.Subject.Node] = true
	}
	return len(nodes) > 1
}

// RejectRoute flags an unreachable, blackhole or prohibit route that only some subjects
// have: traffic matching it fails (EHOSTUNREACH, EACCES) or vanishes (blackhole).
func RejectRoute(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	type seen struct {
		route *Route
		in    []string
	}
	byKey := map[string]*seen{}
	present := 0
	for i, s := range secs {
		if s == nil {
			continue
		}
		present++
		for j := range s.Routes {
			r := &s.Routes[j]
			if !IsReject(r.Type) {
				continue
			}
			k := r.Key()
			if byKey[k] == nil {
				byKey[k] = &seen{route: r}
			}
			if n := len(byKey[k].in); n == 0 || byKey[k].in[n-1] != c.Subjects[i] {
				byKey[k].in = append(byKey[k].in, c.Subjects[i])
			}
		}
	}
	keys := slices.Sorted(maps.Keys(byKey))
	var out []contract.Finding
	for _, k := range keys {
		x := byKey[k]
		if len(x.in) == present {
			continue
		}
		r := x.route
		sev := contract.High
		if r.IsDefault() {
			sev = contract.Critical
		}
		// As `ip route` prints it; what it did to the probes is the diagnosis's to say.
		typed := r.Type + " " + r.Dst
		if r.Table != "main" {
			typed += " table " + r.Table
		}
		var lack []string
		for i, s := range secs {
			if s != nil && !slices.Contains(x.in, c.Subjects[i]) {
				lack = append(lack, c.Subjects[i])
			}
		}
		out = append(out, contract.Finding{
			Severity: sev,
			Message:  fmt.Sprintf("%s %s `%s` (%s %s no such route)", strings.Join(x.in, ", "), contract.Plural(len(x.in), "has", "have"), typed, strings.Join(lack, ", "), contract.Plural(len(lack), "has", "have")),
			Keys:     []string{Name + "/" + k},
		})
	}
	return out
}

// MTUDiffers compares the mtu metric of routes present in several subjects: a route MTU
// below the link MTU caps every connection along it.
func MTUDiffers(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	mtus := map[string][]string{}
	var order []string
	for i, s := range secs {
		if s == nil {
			continue
		}
		for _, r := range s.Routes {
			k := r.Key()
			if mtus[k] == nil {
				mtus[k] = make([]string, len(secs))
				order = append(order, k)
			}
			mtus[k][i] = fmt.Sprint(r.MTU)
		}
	}
	sort.Strings(order)
	var out []contract.Finding
	for _, k := range order {
		vals := mtus[k]
		var parts []string
		distinct := map[string]bool{}
		for i, v := range vals {
			if v == "" {
				continue
			}
			distinct[v] = true
			if v == "0" {
				v = "link MTU"
			}
			parts = append(parts, c.Subjects[i]+" "+v)
		}
		if len(distinct) < 2 || len(parts) < 2 {
			continue
		}
		out = append(out, contract.Finding{
			Severity: contract.Medium,
			Message:  fmt.Sprintf("the mtu of route %s differs (%s)", k, strings.Join(parts, ", ")),
			Detail:   "large packets on that path are dropped or fragmented on one side only",
			Keys:     []string{Name + "/" + k},
		})
	}
	return out
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
