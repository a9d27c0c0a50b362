package netstate

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConvertRoute converts one netlink route; names maps ifindex to interface name.
func ConvertRoute(r netlink.Route, names map[int]string) Route {
	out := Route{
		Family:   FamilyName(r.Family),
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

// FamilyName is "ipv6" for AF_INET6 and "ipv4" otherwise.
func FamilyName(f int) string {
	if f == unix.AF_INET6 {
		return "ipv6"
	}
	return "ipv4"
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
