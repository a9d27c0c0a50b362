package netstate

import (
	"fmt"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConvertLinks converts netlink's link and address lists, sorted by name.
func ConvertLinks(links []netlink.Link, addrs []netlink.Addr) []Interface {
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	perLink := map[int][]Addr{}
	for _, a := range addrs {
		perLink[a.LinkIndex] = append(perLink[a.LinkIndex], convertAddr(a))
	}
	out := []Interface{}
	for _, l := range links {
		out = append(out, convertLink(l, byIndex, perLink[l.Attrs().Index]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func convertLink(l netlink.Link, byIndex map[int]string, addrs []Addr) Interface {
	a := l.Attrs()
	in := Interface{
		Name:      a.Name,
		Index:     a.Index,
		Type:      linkType(l),
		MTU:       a.MTU,
		TxQLen:    a.TxQLen,
		Flags:     LinkFlags(a.RawFlags),
		OperState: a.OperState.String(),
		Alias:     a.Alias,
		AltNames:  append([]string(nil), a.AltNames...),
		Master:    byIndex[a.MasterIndex],
		Addrs:     addrs,
	}
	if len(a.HardwareAddr) > 0 {
		in.MAC = a.HardwareAddr.String()
	}
	if a.MasterIndex != 0 && in.Master == "" {
		in.Master = fmt.Sprintf("if%d", a.MasterIndex)
	}
	if l.Type() == "veth" {
		// IFLA_LINK of a veth is its peer's ifindex, in whatever namespace the peer lives.
		in.PeerIndex = a.ParentIndex
	}
	sort.Strings(in.AltNames)
	sort.Slice(in.Addrs, func(i, j int) bool { return in.Addrs[i].CIDR < in.Addrs[j].CIDR })
	if in.Addrs == nil {
		in.Addrs = []Addr{}
	}
	return in
}

// linkType is what `ip -d link` calls the kind; links without one (lo, physical NICs)
// are named by their hardware type.
func linkType(l netlink.Link) string {
	a := l.Attrs()
	if a.RawFlags&unix.IFF_LOOPBACK != 0 {
		return "loopback"
	}
	switch t := l.Type(); t {
	case "device":
		if a.EncapType != "" && a.EncapType != "ether" {
			return a.EncapType
		}
		return "device"
	default:
		return t
	}
}

var linkFlagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_UP, "up"},
	{unix.IFF_BROADCAST, "broadcast"},
	{unix.IFF_LOOPBACK, "loopback"},
	{unix.IFF_POINTOPOINT, "pointopoint"},
	{unix.IFF_NOARP, "noarp"},
	{unix.IFF_PROMISC, "promisc"},
	{unix.IFF_ALLMULTI, "allmulti"},
	{unix.IFF_MULTICAST, "multicast"},
	{unix.IFF_LOWER_UP, "lower_up"},
	{unix.IFF_DORMANT, "dormant"},
}

// LinkFlags names the IFF_* bits, in ip(8)'s order.
func LinkFlags(raw uint32) []string {
	out := []string{}
	for _, f := range linkFlagNames {
		if raw&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

var addrFlagNames = []struct {
	bit  int
	name string
}{
	{unix.IFA_F_SECONDARY, "secondary"},
	{unix.IFA_F_NODAD, "nodad"},
	{unix.IFA_F_OPTIMISTIC, "optimistic"},
	{unix.IFA_F_DADFAILED, "dadfailed"},
	{unix.IFA_F_HOMEADDRESS, "home"},
	{unix.IFA_F_DEPRECATED, "deprecated"},
	{unix.IFA_F_TENTATIVE, "tentative"},
	{unix.IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
	{unix.IFA_F_NOPREFIXROUTE, "noprefixroute"},
	{unix.IFA_F_MCAUTOJOIN, "autojoin"},
	{unix.IFA_F_STABLE_PRIVACY, "stable-privacy"},
}

// AddrFlags names the IFA_F_* bits; "permanent" is left out because it only says the
// address was configured rather than learned, which is true of almost every pod address.
func AddrFlags(raw int) []string {
	var out []string
	for _, f := range addrFlagNames {
		if raw&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
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

func convertAddr(a netlink.Addr) Addr {
	out := Addr{Scope: ScopeName(a.Scope), Flags: AddrFlags(a.Flags), Family: "ipv6"}
	if a.IPNet != nil {
		out.CIDR = a.IPNet.String()
		if a.IP.To4() != nil {
			out.Family = "ipv4"
		}
	}
	if a.Peer != nil && !a.Peer.IP.Equal(a.IP) {
		out.Peer = a.Peer.String()
	}
	return out
}
