package rules

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lie the policy rules the kernel's walk reaches for it in that
// subject, up to and including the one that decides (see walk).
var analysis = contract.Analysis{Role: contract.State, Path: path}

func path(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" || p.Addr == nil || i >= len(p.Addr) || !p.Addr[i].IsValid() {
		return nil
	}
	return walk(c, p, i).path
}

// match is whether a rule's selectors hold for a probe: yes, no, or not known from the
// report (a source port the kernel picks, a source address no lookup named).
type match int

const (
	no match = iota
	maybe
	yes
)

// outcome is what a rule's action does with a probe it selects.
type outcome int

const (
	passes  outcome = iota // nop, a lookup that finds nothing or is suppressed, a throw route
	decides                // a route found, or blackhole/unreachable/prohibit
	jumps                  // goto
	unknown                // the table's contents are not in the report
)

// ruleRow is a rules row read back: its priority and selectors from the key.
type ruleRow struct {
	row      contract.Row
	priority int
	not      bool
	sel      map[string]string
	flags    map[string]bool // l3mdev
}

func parseRuleKey(r contract.Row, family string) (ruleRow, bool) {
	fam, rest, ok := strings.Cut(r.Key, "/")
	if !ok || fam != family {
		return ruleRow{}, false
	}
	rest, _, _ = strings.Cut(rest, " #") // a repeated rule's "#2"
	f := strings.Fields(rest)
	if len(f) < 1 {
		return ruleRow{}, false
	}
	prio, err := strconv.Atoi(f[0])
	if err != nil {
		return ruleRow{}, false
	}
	rr := ruleRow{row: r, priority: prio, sel: map[string]string{}, flags: map[string]bool{}}
	for k := 1; k < len(f); k++ {
		switch f[k] {
		case "not":
			rr.not = true
		case "l3mdev":
			rr.flags["l3mdev"] = true
		default:
			if k+1 < len(f) {
				rr.sel[f[k]] = f[k+1]
				k++
			}
		}
	}
	return rr, true
}

// walked is the result of one walk: the row keys on the path and the row that decided
// ("" when none did for certain).
type walked struct {
	path    []string
	decider string
}

// walk follows the kernel's fib_rules_lookup for probe p in subject i: the rules of the
// probe's family by priority; a rule whose selectors all hold acts: a lookup that yields
// a route (not suppressed by suppress_prefixlength/suppress_ifgroup, not a throw) or a
// blackhole/unreachable/prohibit action ends the walk, goto jumps to the rule of that
// priority, nop and a lookup that yields nothing go on. Table contents are the same
// report's routes section (or, without it, the table routeget says answered).
//
// On the path: every rule the walk reaches whose selectors may hold, up to and including
// the one that decides, except a rule that only passed the probe on and that no other
// subject has otherwise (removing it would change nothing here); and a rule subject i
// lacks whose selectors hold where the walk reached its priority (its absence is on the
// path). A rule the walk never reaches (after the decider, or skipped by a goto) and a
// rule whose selectors cannot hold (a fwmark when nothing marks the probe) are not.
func walk(c *contract.Comparison, p *contract.Probe, i int) walked {
	family := p.Family()
	var rows []ruleRow
	for _, r := range c.Section(Name) {
		if rr, ok := parseRuleKey(r, family); ok {
			rows = append(rows, rr)
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].priority < rows[b].priority })
	var w walked
	tables := &tableReader{c: c, i: i}
	jumpTo := -1
	for _, rr := range rows {
		if rr.priority < jumpTo {
			continue // skipped by a goto
		}
		m := selects(c, rr, p, i)
		if m == no {
			continue
		}
		r := rr.row
		if !r.Present(i) {
			w.path = append(w.path, r.Key)
			continue
		}
		out, target := act(tables, r.Values[i], p, i, family)
		if out == jumps && !hasPriority(rows, target, i) {
			out = passes // an unresolved goto is skipped
		}
		switch {
		case out == decides && m == yes:
			w.path = append(w.path, r.Key)
			w.decider = r.Key
			return w
		case out == jumps && m == yes:
			w.path = append(w.path, r.Key)
			jumpTo = target
		case out == passes && !differsElsewhere(r, i):
			// It passed the probe on; no other subject does anything else with it.
		default:
			w.path = append(w.path, r.Key)
		}
	}
	return w
}

func hasPriority(rows []ruleRow, prio, i int) bool {
	for _, rr := range rows {
		if rr.priority == prio && rr.row.Present(i) {
			return true
		}
	}
	return false
}

// differsElsewhere: another subject has the rule and does something else with it.
func differsElsewhere(r contract.Row, i int) bool {
	for j := range r.Values {
		if j != i && r.Present(j) && r.Values[j] != r.Values[i] {
			return true
		}
	}
	return false
}

// selects says whether rule rr's selectors hold for probe p as subject i sends it: a
// locally generated packet (iif lo, no oif unless a socket is bound to a device, tos 0,
// no tunnel id), of the probe's protocol and destination port, as the uid it ran as, with
// no firewall mark unless a netfilter rule of that subject sets one.
func selects(c *contract.Comparison, rr ruleRow, p *contract.Probe, i int) match {
	m := yes
	and := func(x match) {
		if x < m {
			m = x
		}
	}
	dst := p.Addr[i].Unmap()
	for k, v := range rr.sel {
		switch k {
		case "from":
			and(fromHolds(v, p, i))
		case "to":
			and(prefixHolds(v, dst))
		case "ipproto":
			and(boolMatch(protoIs(v, p)))
		case "dport":
			if p.Reply {
				and(maybe) // the answer goes to the client's ephemeral port
			} else {
				and(boolMatch(inRange(v, p.Port)))
			}
		case "sport":
			if p.Reply {
				and(boolMatch(inRange(v, p.Port)))
			} else {
				and(maybe) // the kernel picks the source port
			}
		case "uidrange":
			uid := p.UIDIn(i)
			and(boolMatch(uid >= 0 && inRange(v, uid)))
		case "fwmark":
			if marksSet(c, i) {
				and(maybe)
			} else {
				and(boolMatch(markHolds(v, 0)))
			}
		case "iif":
			and(boolMatch(v == "lo"))
		case "oif", "tos", "tun_id":
			and(no) // a plain socket is bound to no device, sends tos 0, no tunnel id
		}
	}
	if rr.flags["l3mdev"] {
		and(no) // no VRF device in a plain connect's flow
	}
	if rr.not {
		switch m {
		case yes:
			return no
		case no:
			return yes
		}
	}
	return m
}

func boolMatch(b bool) match {
	if b {
		return yes
	}
	return no
}

func protoIs(v string, p *contract.Probe) bool {
	if v == p.Proto {
		return true
	}
	if p.Proto == "icmp" && p.Family() == "ipv6" {
		return v == "ipv6-icmp" || v == "icmpv6" || v == "58"
	}
	return map[string]string{"6": "tcp", "17": "udp", "1": "icmp"}[v] == p.Proto
}

// fromHolds: "from all" holds; "from <self>" holds for the subject's own source; a prefix
// holds when it contains the source routeget chose, and is not known without one.
func fromHolds(v string, p *contract.Probe, i int) match {
	if v == "all" {
		return yes
	}
	if strings.HasPrefix(v, "<self") {
		return yes
	}
	if p.Route == nil || i >= len(p.Route) || p.Route[i].Src == "" {
		return maybe
	}
	src, err := netip.ParseAddr(p.Route[i].Src)
	if err != nil {
		return maybe
	}
	return prefixHolds(v, src)
}

func prefixHolds(s string, a netip.Addr) match {
	if s == "all" {
		return yes
	}
	if pf, err := netip.ParsePrefix(s); err == nil {
		return boolMatch(pf.Contains(a))
	}
	if b, err := netip.ParseAddr(s); err == nil {
		return boolMatch(b == a)
	}
	return maybe // a placeholder (<peer>)
}

// markHolds reads "0x1" or "0x1/0xff" and says whether mark satisfies it.
func markHolds(s string, mark uint64) bool {
	v, m, ok := strings.Cut(s, "/")
	val, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return true
	}
	mask := uint64(0xffffffff)
	if ok {
		if x, err := strconv.ParseUint(m, 0, 32); err == nil {
			mask = x
		}
	}
	return mark&mask == val
}

// netfilterSection is the netfilter section's name; its rows (docs/sections/netfilter.md)
// say whether a rule of the subject sets a packet mark (iptables' MARK target, nft's
// `meta mark set`), the only way a plain connect's packets carry one.
const netfilterSection = "netfilter"

func marksSet(c *contract.Comparison, i int) bool {
	for _, r := range c.Section(netfilterSection) {
		if !r.Present(i) || strings.HasPrefix(r.Key, "visible/") {
			continue // the loaded extensions (a MARK target among them) are the node kernel's
		}
		s := r.Key + " " + r.Values[i]
		if strings.Contains(s, "MARK") || strings.Contains(s, "mark set") {
			return true
		}
	}
	return false
}

// act is what a rule's action (its value in subject i: "lookup 100 suppress_prefixlength
// 0", "goto 200", "prohibit") does with the probe, and a goto's target.
func act(tables *tableReader, v string, p *contract.Probe, i int, family string) (outcome, int) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return unknown, 0
	}
	switch f[0] {
	case "nop":
		return passes, 0
	case "blackhole", "unreachable", "prohibit":
		return decides, 0
	case "goto":
		if len(f) > 1 {
			if n, err := strconv.Atoi(f[1]); err == nil {
				return jumps, n
			}
		}
		return unknown, 0
	case "lookup":
	default:
		return unknown, 0
	}
	if len(f) < 2 {
		return unknown, 0
	}
	table := f[1]
	suppressLen, suppressGroup := -1, false
	for k := 2; k+1 < len(f); k++ {
		switch f[k] {
		case "suppress_prefixlength":
			if n, err := strconv.Atoi(f[k+1]); err == nil {
				suppressLen = n
			}
		case "suppress_ifgroup":
			suppressGroup = true
		}
	}
	typ, bits, ok := tables.lookup(family, table, p.Addr[i].Unmap())
	if !ok {
		// No routes section: the table routeget says answered is the one that decided.
		if p.Route != nil && i < len(p.Route) && p.Route[i].Known && p.Route[i].Table != "" {
			if p.Route[i].Table == table {
				return decides, 0
			}
			if p.Route[i].Err == "" {
				return passes, 0
			}
		}
		return unknown, 0
	}
	switch {
	case typ == "":
		return passes, 0 // nothing in the table holds the destination
	case typ == "throw":
		return passes, 0
	case typ == "blackhole" || typ == "unreachable" || typ == "prohibit":
		return decides, 0 // an error route ends the walk before any suppress test
	case suppressLen >= 0 && bits <= suppressLen:
		return passes, 0
	case suppressGroup:
		return unknown, 0 // the devices' groups are not in the report
	}
	return decides, 0
}

// tableReader reads subject i's routes section once per walk.
type tableReader struct {
	c      *contract.Comparison
	i      int
	read   bool
	routes *routesSchema
}

// lookup finds the longest prefix of table in subject i's routes section that holds dst:
// its type ("" for none) and length; ok=false when the report cannot say (no section, a
// failed dump of the family, the table cut by the cap).
func (t *tableReader) lookup(family, table string, dst netip.Addr) (string, int, bool) {
	if !t.read {
		t.read = true
		if t.i < len(t.c.Reports) && t.c.Reports[t.i] != nil {
			var s routesSchema
			if ok, err := t.c.Reports[t.i].Section(routesSection, &s); ok && err == nil {
				t.routes = &s
			}
		}
	}
	s := t.routes
	if s == nil || s.Errors[family] != nil {
		return "", 0, false
	}
	typ, bits, found := "", -1, false
	for _, r := range s.Routes {
		if r.Family != family || r.Table != table {
			continue
		}
		pf, ok := routePrefix(r.Dst, family)
		if !ok || !pf.Contains(dst) || pf.Bits() <= bits {
			continue
		}
		typ, bits, found = r.Type, pf.Bits(), true
	}
	if !found && s.Truncated && s.Counts[family+"/"+table] > 0 {
		return "", 0, false
	}
	return typ, bits, true
}

func routePrefix(dst, family string) (netip.Prefix, bool) {
	switch {
	case dst == "default" && family == "ipv4":
		return netip.MustParsePrefix("0.0.0.0/0"), true
	case dst == "default":
		return netip.MustParsePrefix("::/0"), true
	case strings.Contains(dst, "/"):
		pf, err := netip.ParsePrefix(dst)
		return pf, err == nil
	}
	a, err := netip.ParseAddr(dst)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
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
