package connect

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// view is one subject's connect section (and its routeget section, which the rules
// combine with it), nil where the report has none.
type view struct {
	name  string
	sec   *Section
	route *routegetSchema
}

// routegetSection is the routeget section's name, and routegetSchema the part of its
// schema (docs/sections/routeget.md) these rules read.
const routegetSection = "routeget"

type routegetSchema struct {
	Lookups []netprobe.RouteLookup `json:"lookups"`
}

func views(c *contract.Comparison) []view {
	secs := contract.DecodeSections(c, Name, Decode)
	routes := contract.DecodeSections(c, routegetSection, contract.DecodeJSON[routegetSchema])
	out := make([]view, len(c.Subjects))
	for i, name := range c.Subjects {
		out[i] = view{name: name, sec: secs[i], route: routes[i]}
	}
	return out
}

// slot identifies a probed address across subjects: the target and the address's place
// ("ipv4", "ipv6#2"), not the address, which may resolve differently.
type slot struct{ target, key string }

// addrs indexes every subject's address results by slot, in a stable order.
func addrs(vs []view) ([]slot, map[slot][]*AddrResult) {
	m := map[slot][]*AddrResult{}
	var order []slot
	for i, v := range vs {
		if v.sec == nil {
			continue
		}
		for ti := range v.sec.Targets {
			t := &v.sec.Targets[ti]
			for ai := range t.Addresses {
				s := slot{t.Target, t.Addresses[ai].Key}
				if _, ok := m[s]; !ok {
					m[s] = make([]*AddrResult, len(vs))
					order = append(order, s)
				}
				m[s][i] = &t.Addresses[ai]
			}
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].target != order[j].target {
			return order[i].target < order[j].target
		}
		return order[i].key < order[j].key
	})
	return order, m
}

func methodOf(a *AddrResult, m string) *MethodResult {
	if a == nil {
		return nil
	}
	if m == Blocking {
		return a.Blocking
	}
	return a.Nonblocking
}

func human(m string) string {
	if m == Nonblocking {
		return "non-blocking"
	}
	return m
}

// ran counts attempts that actually ran: attempts the window had no time for say nothing.
func ran(r netprobe.Run) int {
	n := r.Attempts
	for _, e := range r.Errors {
		if e.Stage == netprobe.StageNotRun {
			n -= e.Count
		}
	}
	return n
}

func failedRan(r netprobe.Run) int { return ran(r) - r.OK }

func allOK(r netprobe.Run) bool  { return ran(r) > 0 && r.OK == ran(r) }
func allBad(r netprobe.Run) bool { return ran(r) > 0 && r.OK == 0 }

func dominant(r netprobe.Run) string {
	for _, e := range r.Errors {
		if e.Stage != netprobe.StageNotRun {
			return e.Errno
		}
	}
	return ""
}

func rowID(key string) string { return Name + "/" + key }

// methods are the connect methods in the order findings name them.
var methods = []string{Nonblocking, Blocking}

// perSlot runs fn on every probed address slot in a stable order (per holds each
// subject's result there, nil where it has none) and collects the findings.
func perSlot(c *contract.Comparison, fn func(vs []view, s slot, per []*AddrResult) []contract.Finding) []contract.Finding {
	vs := views(c)
	order, m := addrs(vs)
	var out []contract.Finding
	for _, s := range order {
		out = append(out, fn(vs, s, m[s])...)
	}
	return out
}

// perMethod runs fn on every subject's result for every method at every slot, where the
// subject has one, and collects the findings it returns.
func perMethod(c *contract.Comparison, fn func(v view, s slot, a *AddrResult, meth string, mr *MethodResult) *contract.Finding) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		var out []contract.Finding
		for i, a := range per {
			for _, meth := range methods {
				if mr := methodOf(a, meth); mr != nil {
					if f := fn(vs[i], s, a, meth, mr); f != nil {
						out = append(out, *f)
					}
				}
			}
		}
		return out
	})
}

// ruleFailsHereWorksThere: a method that fails every time in one subject and works every
// time in another is the difference the tool exists to find.
func ruleFailsHereWorksThere(c *contract.Comparison) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		var out []contract.Finding
		for i, a := range per {
			var failing []string
			var keys []string
			var evidence []string
			for _, meth := range methods {
				mr := methodOf(a, meth)
				if mr == nil || !allBad(mr.Sequential) {
					continue
				}
				var okIn []string
				for j, b := range per {
					if j != i && methodOf(b, meth) != nil && allOK(methodOf(b, meth).Sequential) {
						okIn = append(okIn, vs[j].name)
					}
				}
				if len(okIn) == 0 {
					continue
				}
				failing = append(failing, strings.Join(okIn, ", ")+" succeed"+plural(len(okIn)))
				keys = append(keys, rowID(RunKey(meth, false, s.target, s.key)))
				evidence = append(evidence, mr.Sequential.Format("ok")+" "+human(meth))
			}
			if len(failing) == 0 {
				continue
			}
			// The essential part first (who, what, errno, count), so that a line cut under
			// its cause keeps it: "pod-b: tcp://10.0.0.1:80 fails: ENETUNREACH 3/3
			// (immediate) non-blocking, ENETUNREACH 3/3 blocking; pod-a succeeds".
			where := s.target
			if target.Host(s.target) != a.Address {
				where += " (" + s.key + " " + a.Address + ")"
			}
			out = append(out, contract.Finding{
				Severity: contract.Critical,
				Message:  fmt.Sprintf("%s: %s fails: %s; %s", vs[i].name, where, strings.Join(evidence, ", "), failing[0]),
				Keys:     keys,
			})
		}
		return out
	})
}

func plural(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// ruleErrnoDiffers: a method fails every time everywhere, but not for the same reason
// (ECONNREFUSED here, ETIMEDOUT there): the paths differ even though neither works.
func ruleErrnoDiffers(c *contract.Comparison) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		var out []contract.Finding
		for _, meth := range methods {
			byErrno := map[string][]string{}
			all := true
			for i, a := range per {
				mr := methodOf(a, meth)
				if mr == nil {
					continue
				}
				if !allBad(mr.Sequential) {
					all = false
					break
				}
				byErrno[mr.Sequential.Format("ok")] = append(byErrno[mr.Sequential.Format("ok")], vs[i].name)
			}
			if !all || len(byErrno) < 2 {
				continue
			}
			errnos := map[string]bool{}
			for _, a := range per {
				if mr := methodOf(a, meth); mr != nil {
					errnos[dominant(mr.Sequential)] = true
				}
			}
			if len(errnos) < 2 {
				continue
			}
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message:  fmt.Sprintf("%s connect to %s (%s) fails everywhere, for different reasons: %s", human(meth), s.target, s.key, contract.Grouped(byErrno)),
				Keys:     []string{rowID(RunKey(meth, false, s.target, s.key))},
			})
		}
		return out
	})
}

// ruleBlockingVsNonblocking: the case study's signature. The same syscall sequence except
// O_NONBLOCK should not change whether the kernel accepts a connect.
func ruleBlockingVsNonblocking(c *contract.Comparison) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		var out []contract.Finding
		for i, a := range per {
			if a == nil || a.Blocking == nil || a.Nonblocking == nil {
				continue
			}
			b, n := a.Blocking.Sequential, a.Nonblocking.Sequential
			differ := (allOK(b) && allBad(n)) || (allBad(b) && allOK(n)) ||
				(allBad(b) && allBad(n) && dominant(b) != dominant(n))
			if !differ {
				continue
			}
			out = append(out, contract.Finding{
				Severity: contract.Critical,
				Message: fmt.Sprintf("%s: connect to %s (%s %s) goes differently with O_NONBLOCK than without (blocking: %s; non-blocking: %s): the same route and target, so what decides is the socket itself or when it ran, not the routing table",
					vs[i].name, s.target, s.key, a.Address, b.Format("ok"), n.Format("ok")),
				Keys: []string{rowID(RunKey(Blocking, false, s.target, s.key)), rowID(RunKey(Nonblocking, false, s.target, s.key))},
			})
		}
		return out
	})
}

// rejectErrnos are failures that routing could explain, so a route that looks fine makes
// them suspicious.
var rejectErrnos = []string{"ENETUNREACH", "EHOSTUNREACH", "EPERM", "EACCES"}

// ruleRouteOKConnectFails: `ip route get` (with the same protocol and port) finds a route,
// yet connect is refused with a routing-like errno, so something else is rejecting it.
func ruleRouteOKConnectFails(c *contract.Comparison) []contract.Finding {
	vs := views(c)
	var out []contract.Finding
	for i, v := range vs {
		if v.sec == nil || v.route == nil {
			continue
		}
		lookups := map[string]netprobe.RouteLookup{}
		for _, l := range v.route.Lookups {
			lookups[l.FactKey()] = l
		}
		for _, t := range v.sec.Targets {
			for _, a := range t.Addresses {
				l, ok := lookups[t.Target+"/"+a.Key]
				if !ok || l.Error != nil || l.Route == nil || (l.Route.Type != "unicast" && l.Route.Type != "local") {
					continue
				}
				var bad []string
				var keys []string
				for _, meth := range methods {
					mr := methodOf(&a, meth)
					if mr == nil || !mr.Sequential.HasErrno(rejectErrnos...) {
						continue
					}
					bad = append(bad, fmt.Sprintf("%s %s", human(meth), mr.Sequential.Format("ok")))
					// The rows' keys, as the diff normalised them (<peer>, <self>), so the
					// diagnosis links this symptom to the cause on its path.
					keys = append(keys, rowID(c.NormaliseFor(i, RunKey(meth, false, t.Target, a.Key))))
				}
				if len(bad) == 0 {
					continue
				}
				keys = append(keys, routegetSection+"/"+c.NormaliseFor(i, l.FactKey()))
				out = append(out, contract.Finding{
					Severity: contract.Critical,
					// A symptom: the cause is what the diagnosis finds on this connect's path
					// (a netfilter rule, a cgroup program, a rule for the app's uid), not
					// a list of guesses here.
					Message: fmt.Sprintf("%s: connect to %s (%s) fails (%s) although a route lookup for it succeeds (%s)",
						v.name, t.Target, a.Address, strings.Join(bad, "; "), l.Format()),
					Keys: keys,
				})
			}
		}
	}
	return out
}

// ruleIPv6FirstNoRoute: the resolver puts IPv6 first but the namespace cannot reach it;
// clients without a fast IPv4 fallback fail or stall.
func ruleIPv6FirstNoRoute(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, v := range views(c) {
		if v.sec == nil {
			continue
		}
		for _, t := range v.sec.Targets {
			r := t.Resolve
			if r == nil || r.Literal || len(t.Addresses) == 0 || t.Addresses[0].Family != "ipv6" {
				continue
			}
			a := t.Addresses[0]
			why, keys := "", []string{rowID(ResolveKey(t.Target))}
			if v.route != nil {
				for _, l := range v.route.Lookups {
					if l.FactKey() == t.Target+"/"+a.Key && l.Error != nil && (l.Error.Errno == "ENETUNREACH" || l.Error.Errno == "EHOSTUNREACH") {
						why = "route lookup: " + l.Error.Errno
						keys = append(keys, routegetSection+"/"+l.FactKey())
					}
				}
			}
			if why == "" {
				if mr := a.Nonblocking; mr != nil && mr.Sequential.HasErrno("ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL") {
					why = "non-blocking connect: " + mr.Sequential.Format("ok")
					keys = append(keys, rowID(RunKey(Nonblocking, false, t.Target, a.Key)))
				}
			}
			if why == "" {
				continue
			}
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message: fmt.Sprintf("%s resolves %s to IPv6 first (%s) but has no IPv6 route (%s): clients that do not fall back to IPv4 quickly fail",
					v.name, t.Target, a.Address, why),
				Keys: keys,
			})
		}
	}
	return out
}

// ruleIntermittent: some attempts fail and some work; a flaky path is a finding even when
// every subject shows it.
func ruleIntermittent(c *contract.Comparison) []contract.Finding {
	return perMethod(c, func(v view, s slot, a *AddrResult, meth string, mr *MethodResult) *contract.Finding {
		r := mr.Sequential
		f := failedRan(r)
		if f <= 0 || r.OK <= 0 {
			return nil
		}
		return &contract.Finding{
			Severity: contract.High,
			Message: fmt.Sprintf("intermittent: %d of %d sequential %s connects to %s (%s %s) failed in %s (%s)",
				f, ran(r), human(meth), s.target, s.key, a.Address, v.name, r.Format("ok")),
			Keys: []string{rowID(RunKey(meth, false, s.target, s.key))},
		}
	})
}

// ruleBurstFails: connects fail only when many start at once, like an app's connection
// pool at startup, pointing at limits (conntrack, backlog, ports, neighbour queue).
func ruleBurstFails(c *contract.Comparison) []contract.Finding {
	return perMethod(c, func(v view, s slot, a *AddrResult, meth string, mr *MethodResult) *contract.Finding {
		if mr.Burst == nil || !allOK(mr.Sequential) || failedRan(*mr.Burst) == 0 {
			return nil
		}
		return &contract.Finding{
			Severity: contract.High,
			Message: fmt.Sprintf("%s: %d simultaneous %s connects to %s (%s %s) give %s while sequential ones work (%s): look at limits hit by concurrency (neighbour queue, conntrack, ports, accept backlog)",
				v.name, mr.Burst.Attempts, human(meth), s.target, s.key, a.Address, mr.Burst.Format("ok"), mr.Sequential.Format("ok")),
			Keys: []string{rowID(RunKey(meth, true, s.target, s.key)), rowID(RunKey(meth, false, s.target, s.key))},
		}
	})
}

// rulePMTUDiffers: the same destination with a different path MTU; large transfers hang
// where the smaller one is not known to the sender.
func rulePMTUDiffers(c *contract.Comparison) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		vals := map[string][]string{}
		for i, a := range per {
			if a != nil && a.PathMTU > 0 {
				mtu := strconv.Itoa(a.PathMTU)
				vals[mtu] = append(vals[mtu], vs[i].name)
			}
		}
		if len(vals) < 2 {
			return nil
		}
		return []contract.Finding{{
			Severity: contract.Medium,
			Message:  fmt.Sprintf("path MTU to %s (%s) differs: %s", s.target, s.key, contract.Grouped(vals)),
			Keys:     []string{rowID(PMTUKey(s.target, s.key))},
		}}
	})
}

// ruleUDPDiffers: the same datagram gets a port unreachable in one subject and silence or
// a reply in another.
func ruleUDPDiffers(c *contract.Comparison) []contract.Finding {
	return perSlot(c, func(vs []view, s slot, per []*AddrResult) []contract.Finding {
		outcome := map[string][]string{}
		for i, a := range per {
			if a == nil || a.UDP == nil || ran(*a.UDP) == 0 {
				continue
			}
			o := "reply"
			if d := dominant(*a.UDP); d != "" && a.UDP.OK == 0 {
				o = d
			}
			outcome[o] = append(outcome[o], vs[i].name)
		}
		if len(outcome) < 2 {
			return nil
		}
		return []contract.Finding{{
			Severity: contract.High,
			Message:  fmt.Sprintf("UDP to %s (%s) is answered differently: %s (ECONNREFUSED means an ICMP port unreachable came back)", s.target, s.key, contract.Grouped(outcome)),
			Keys:     []string{rowID(UDPKey(s.target, s.key))},
		}}
	})
}
