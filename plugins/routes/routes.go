package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Name is the section name.
const Name = "routes"

// MaxRoutes caps the list. A pod has tens of routes (local table included), a node's own
// namespace one or two per pod; BGP full tables have hundreds of thousands. At about 130
// bytes a route, 500 keep the section near 65 KiB inside the report's 256 KiB budget
// (measured: 2000 routes made a 261 KiB section). Main-table routes are kept first.
const MaxRoutes = 500

func init() {
	probe.Register(Name, func() probe.Plugin { return &Plugin{} })
	registerRules()
}

// Section is the JSON shape of sections.routes.
type Section struct {
	Routes []Route `json:"routes"`
	// Total counts every route seen; Counts splits it by "family/table".
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	Truncated bool           `json:"truncated,omitempty"`
	// Errors holds a dump failure per family ("ipv4", "ipv6"); the other family is still reported.
	Errors map[string]*report.Error `json:"errors,omitempty"`
	// Interrupted: the kernel flagged a dump as inconsistent twice (routes changed while read).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Route is one route as `ip route show table all` would print it.
type Route struct {
	Family   string    `json:"family"` // "ipv4" or "ipv6"
	Table    string    `json:"table"`  // "main", "local", "default" or the number
	Type     string    `json:"type"`   // unicast, local, broadcast, unreachable, blackhole, prohibit, throw, ...
	Dst      string    `json:"dst"`    // "default", a host address, or a CIDR
	Gw       string    `json:"gw,omitempty"`
	Dev      string    `json:"dev,omitempty"`
	Src      string    `json:"src,omitempty"`
	Proto    string    `json:"proto,omitempty"`
	Scope    string    `json:"scope,omitempty"`
	Metric   int       `json:"metric,omitempty"`
	Tos      int       `json:"tos,omitempty"`
	MTU      int       `json:"mtu,omitempty"`
	AdvMSS   int       `json:"advmss,omitempty"`
	Hoplimit int       `json:"hoplimit,omitempty"`
	InitCwnd int       `json:"initcwnd,omitempty"`
	Flags    []string  `json:"flags,omitempty"`
	Nexthops []Nexthop `json:"nexthops,omitempty"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Gw     string   `json:"gw,omitempty"`
	Dev    string   `json:"dev,omitempty"`
	Weight int      `json:"weight"`
	Flags  []string `json:"flags,omitempty"`
}

// Key lines the route up across subjects: family, table, type and destination, plus the
// device for gateway-less routes (IPv6 has one fe80::/64 per link) and metric and TOS
// when set, because those may legitimately coexist for one destination.
func (r Route) Key() string {
	k := r.Family + "/" + r.Table + "/" + r.Type + "/" + r.Dst
	if r.Gw == "" && len(r.Nexthops) == 0 && r.Dev != "" && r.Dev != "lo" {
		k += " dev " + r.Dev
	}
	if r.Tos != 0 {
		k += fmt.Sprintf(" tos %#x", r.Tos)
	}
	if r.Metric != 0 {
		k += fmt.Sprintf(" metric %d", r.Metric)
	}
	return k
}

// Value is the canonical rendering of everything not in the key, in ip(8)'s words.
func (r Route) Value() string {
	var p []string
	add := func(k, v string) {
		if v != "" {
			p = append(p, k+" "+v)
		}
	}
	addInt := func(k string, v int) {
		if v != 0 {
			p = append(p, fmt.Sprintf("%s %d", k, v))
		}
	}
	add("via", r.Gw)
	add("dev", r.Dev)
	add("proto", r.Proto)
	if r.Scope != "global" {
		add("scope", r.Scope)
	}
	add("src", r.Src)
	addInt("mtu", r.MTU)
	addInt("advmss", r.AdvMSS)
	addInt("hoplimit", r.Hoplimit)
	addInt("initcwnd", r.InitCwnd)
	p = append(p, r.Flags...)
	for _, nh := range r.Nexthops {
		s := "nexthop"
		if nh.Gw != "" {
			s += " via " + nh.Gw
		}
		if nh.Dev != "" {
			s += " dev " + nh.Dev
		}
		s += fmt.Sprintf(" weight %d", nh.Weight)
		for _, f := range nh.Flags {
			s += " " + f
		}
		p = append(p, s)
	}
	return strings.Join(p, " ")
}

// IsDefault: a route to everywhere of its family.
func (r Route) IsDefault() bool { return r.Dst == "default" }

// Plugin collects the routes section.
type Plugin struct{}

func (*Plugin) Name() string       { return Name }
func (*Plugin) Phase() probe.Phase { return probe.Passive }

// Collect dumps every table of both families in the current network namespace.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	links, err := netlink.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list links over netlink (for route device names): %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	var conv []Route
	errs := map[string]*report.Error{}
	interrupted := false
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rs, err := dump(fam, names)
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			// A route changed mid-dump; one retry nearly always gets a consistent view.
			rs, err = dump(fam, names)
			if errors.Is(err, netlink.ErrDumpInterrupted) {
				interrupted, err = true, nil
			}
		}
		if err != nil {
			errs[familyName(fam)] = report.ErrorOf(fmt.Errorf("dump %s routes: %w", familyName(fam), err))
			continue
		}
		conv = append(conv, rs...)
	}
	s := finish(conv)
	if len(errs) > 0 {
		s.Errors = errs
	}
	s.Interrupted = interrupted
	return s, nil
}

// dump converts while the kernel streams the routes, so a huge table is never held twice
// (measured with 10,000 routes: peak RSS of the prober 27.5 MiB holding netlink's
// structs, 20.1 MiB converting on the fly, with the neighbours and every other plugin).
func dump(family int, names map[int]string) ([]Route, error) {
	var out []Route
	err := netlink.RouteListFilteredIter(family, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE, func(r netlink.Route) bool {
		if r.Family == unix.AF_INET || r.Family == unix.AF_INET6 {
			out = append(out, ConvertRoute(r, names))
		}
		return true
	})
	return out, err
}

// Convert builds the section from netlink routes, ordered main table first, then other
// numbered tables, default, local; capped at MaxRoutes.
func Convert(rs []netlink.Route, names map[int]string) *Section {
	conv := make([]Route, 0, len(rs))
	for _, r := range rs {
		if r.Family == unix.AF_INET || r.Family == unix.AF_INET6 {
			conv = append(conv, ConvertRoute(r, names))
		}
	}
	return finish(conv)
}

// finish counts, orders and caps converted routes.
func finish(conv []Route) *Section {
	s := &Section{Counts: map[string]int{}, Total: len(conv)}
	for _, r := range conv {
		s.Counts[r.Family+"/"+r.Table]++
	}
	keys := make([]string, len(conv))
	for i := range conv {
		keys[i] = conv[i].Key() + "\x00" + conv[i].Value()
	}
	idx := make([]int, len(conv))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := &conv[idx[i]], &conv[idx[j]]
		if ra, rb := tableRank(a.Table), tableRank(b.Table); ra != rb {
			return ra < rb
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return keys[idx[i]] < keys[idx[j]]
	})
	if len(idx) > MaxRoutes {
		idx, s.Truncated = idx[:MaxRoutes], true
	}
	s.Routes = make([]Route, 0, len(idx))
	for _, i := range idx {
		s.Routes = append(s.Routes, conv[i])
	}
	return s
}

func tableRank(t string) int {
	switch t {
	case "main":
		return 0
	case "default":
		return 2
	case "local":
		return 3
	}
	return 1
}

// ConvertRoute converts one netlink route; names maps ifindex to interface name.
func ConvertRoute(r netlink.Route, names map[int]string) Route {
	out := Route{
		Family:   familyName(r.Family),
		Table:    TableName(r.Table),
		Type:     TypeName(r.Type),
		Dst:      dst(r.Dst),
		Gw:       ipString(r.Gw),
		Dev:      devName(r.LinkIndex, names),
		Src:      ipString(r.Src),
		Proto:    ProtoName(int(r.Protocol)),
		Scope:    ScopeName(int(r.Scope)),
		Metric:   r.Priority,
		Tos:      r.Tos,
		MTU:      r.MTU,
		AdvMSS:   r.AdvMSS,
		Hoplimit: r.Hoplimit,
		InitCwnd: r.InitCwnd,
		Flags:    NexthopFlags(r.Flags),
	}
	if r.Via != nil && out.Gw == "" {
		out.Gw = r.Via.String()
	}
	for _, nh := range r.MultiPath {
		n := Nexthop{Gw: ipString(nh.Gw), Dev: devName(nh.LinkIndex, names), Weight: nh.Hops + 1, Flags: NexthopFlags(nh.Flags)}
		if nh.Via != nil && n.Gw == "" {
			n.Gw = nh.Via.String()
		}
		out.Nexthops = append(out.Nexthops, n)
	}
	return out
}

func familyName(f int) string {
	if f == unix.AF_INET6 {
		return "ipv6"
	}
	return "ipv4"
}

func dst(n *net.IPNet) string {
	if n == nil {
		return "default"
	}
	ones, bits := n.Mask.Size()
	switch {
	case ones == 0 && n.IP.IsUnspecified():
		return "default"
	case ones == bits:
		return n.IP.String()
	}
	return n.String()
}

func ipString(ip net.IP) string {
	if len(ip) == 0 {
		return ""
	}
	return ip.String()
}

func devName(idx int, names map[int]string) string {
	if idx == 0 {
		return ""
	}
	if n, ok := names[idx]; ok {
		return n
	}
	return fmt.Sprintf("if%d", idx)
}

// TableName is the routing table as ip(8) names it without /etc/iproute2/rt_tables.
func TableName(t int) string {
	switch t {
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	case unix.RT_TABLE_UNSPEC:
		return "unspec"
	}
	return fmt.Sprint(t)
}

var typeNames = map[int]string{
	unix.RTN_UNSPEC: "none", unix.RTN_UNICAST: "unicast", unix.RTN_LOCAL: "local",
	unix.RTN_BROADCAST: "broadcast", unix.RTN_ANYCAST: "anycast", unix.RTN_MULTICAST: "multicast",
	unix.RTN_BLACKHOLE: "blackhole", unix.RTN_UNREACHABLE: "unreachable", unix.RTN_PROHIBIT: "prohibit",
	unix.RTN_THROW: "throw", unix.RTN_NAT: "nat", unix.RTN_XRESOLVE: "xresolve",
}

// TypeName is the route type (RTN_*) as ip(8) prints it.
func TypeName(t int) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprint(t)
}

// IsReject: route types that make the kernel refuse the packet instead of sending it.
func IsReject(typ string) bool {
	return typ == "unreachable" || typ == "blackhole" || typ == "prohibit"
}

var protoNames = map[int]string{
	unix.RTPROT_UNSPEC: "", unix.RTPROT_REDIRECT: "redirect", unix.RTPROT_KERNEL: "kernel",
	unix.RTPROT_BOOT: "boot", unix.RTPROT_STATIC: "static", unix.RTPROT_RA: "ra", unix.RTPROT_DHCP: "dhcp",
	unix.RTPROT_BIRD: "bird", unix.RTPROT_ZEBRA: "zebra", unix.RTPROT_BGP: "bgp", unix.RTPROT_OSPF: "ospf",
	unix.RTPROT_BABEL: "babel", unix.RTPROT_ISIS: "isis", unix.RTPROT_RIP: "rip", unix.RTPROT_EIGRP: "eigrp",
}

// ProtoName is the route's originator (RTPROT_*).
func ProtoName(p int) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return fmt.Sprint(p)
}

// ScopeName is the rtnetlink scope as ip(8) prints it.
func ScopeName(s int) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_SITE:
		return "site"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	case unix.RT_SCOPE_NOWHERE:
		return "nowhere"
	}
	return fmt.Sprint(s)
}

// NexthopFlags names the RTNH_F_* bits the kernel reports in rtm_flags.
func NexthopFlags(f int) []string {
	var out []string
	for _, x := range []struct {
		bit  int
		name string
	}{{unix.RTNH_F_DEAD, "dead"}, {unix.RTNH_F_PERVASIVE, "pervasive"}, {unix.RTNH_F_ONLINK, "onlink"}, {unix.RTNH_F_OFFLOAD, "offload"}, {unix.RTNH_F_LINKDOWN, "linkdown"}} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}

// Facts flattens the section: one fact per route key, plus per-table counts.
func (*Plugin) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode routes section: %w", err)
	}
	return Facts(&s), nil
}

// Facts is the pure form of Plugin.Facts. Keys stay unique: a second route with the same
// key (rare: equal metric on two devices) gets a "#2" suffix, in a stable order.
func Facts(s *Section) []probe.Fact {
	out := make([]probe.Fact, 0, len(s.Routes)+len(s.Counts)+1)
	seen := map[string]int{}
	for _, r := range s.Routes {
		k := r.Key()
		seen[k]++
		if n := seen[k]; n > 1 {
			k = fmt.Sprintf("%s #%d", k, n)
		}
		out = append(out, probe.Fact{Key: k, Value: r.Value(), Kind: probe.Exact})
	}
	tables := make([]string, 0, len(s.Counts))
	for t := range s.Counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		out = append(out, probe.Fact{Key: "count/" + t, Value: fmt.Sprint(s.Counts[t]), Kind: probe.Info})
	}
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: fmt.Sprintf("true (%d of %d shown)", len(s.Routes), s.Total), Kind: probe.Exact})
	}
	fams := make([]string, 0, len(s.Errors))
	for f := range s.Errors {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, f := range fams {
		out = append(out, probe.Fact{Key: "error/" + f, Value: s.Errors[f].Name(), Kind: probe.Exact})
	}
	return out
}

var _ probe.Plugin = (*Plugin)(nil)
