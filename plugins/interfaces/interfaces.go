package interfaces

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
const Name = "interfaces"

// MaxInterfaces caps the list: a node's host namespace with thousands of veths is not a
// pod, and the report must stay small.
const MaxInterfaces = 256

func init() {
	probe.Register(Name, func() probe.Plugin { return &Plugin{} })
	registerRules()
}

// Section is the JSON shape of sections.interfaces.
type Section struct {
	Interfaces []Interface `json:"interfaces"`
	Total      int         `json:"total"`
	Truncated  bool        `json:"truncated,omitempty"`
	// AddrError is set when the address dump failed; the links are still reported.
	AddrError *report.Error `json:"addrError,omitempty"`
	// Interrupted is set when the kernel flagged a dump as inconsistent (the namespace
	// changed while it was read).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Interface is one link and its addresses.
type Interface struct {
	Name      string   `json:"name"`
	Index     int      `json:"index"`
	Type      string   `json:"type"`
	MTU       int      `json:"mtu"`
	TxQLen    int      `json:"txqueuelen"`
	Flags     []string `json:"flags"`
	OperState string   `json:"operState"`
	MAC       string   `json:"mac,omitempty"`
	Alias     string   `json:"alias,omitempty"`
	AltNames  []string `json:"altNames,omitempty"`
	Master    string   `json:"master,omitempty"`
	// PeerIndex is the veth peer's ifindex in its own namespace; shown, never compared.
	PeerIndex int    `json:"peerIndex,omitempty"`
	Addrs     []Addr `json:"addrs"`
}

// Addr is one address of an interface.
type Addr struct {
	// CIDR is the address with its prefix length, e.g. "10.1.0.2/24" or "fd00::2/64".
	CIDR   string   `json:"cidr"`
	Family string   `json:"family"` // "ipv4" or "ipv6"
	Scope  string   `json:"scope"`
	Flags  []string `json:"flags,omitempty"`
	Peer   string   `json:"peer,omitempty"`
}

// IP returns the address without its prefix length.
func (a Addr) IP() string {
	ip, _, _ := strings.Cut(a.CIDR, "/")
	return ip
}

// Plugin collects the interfaces section.
type Plugin struct{}

func (*Plugin) Name() string       { return Name }
func (*Plugin) Phase() probe.Phase { return probe.Passive }

// Collect dumps links and addresses of the current network namespace.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	links, err := netlink.LinkList()
	interrupted := errors.Is(err, netlink.ErrDumpInterrupted)
	if err != nil && !interrupted {
		return nil, fmt.Errorf("list links over netlink: %w", err)
	}
	addrs, aerr := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if errors.Is(aerr, netlink.ErrDumpInterrupted) {
		interrupted, aerr = true, nil
	}
	s := Convert(links, addrs)
	s.Interrupted = interrupted
	s.AddrError = report.ErrorOf(aerr)
	return s, nil
}

// Convert builds the section from netlink's link and address lists, sorted by name.
func Convert(links []netlink.Link, addrs []netlink.Addr) *Section {
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	perLink := map[int][]Addr{}
	for _, a := range addrs {
		perLink[a.LinkIndex] = append(perLink[a.LinkIndex], convertAddr(a))
	}
	s := &Section{Total: len(links), Interfaces: []Interface{}}
	for _, l := range links {
		s.Interfaces = append(s.Interfaces, convertLink(l, byIndex, perLink[l.Attrs().Index]))
	}
	sort.Slice(s.Interfaces, func(i, j int) bool { return s.Interfaces[i].Name < s.Interfaces[j].Name })
	if len(s.Interfaces) > MaxInterfaces {
		s.Interfaces, s.Truncated = s.Interfaces[:MaxInterfaces], true
	}
	return s
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

// Facts flattens the section into facts keyed by interface name.
func (*Plugin) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode interfaces section: %w", err)
	}
	return Facts(&s), nil
}

// Facts is the pure form of Plugin.Facts.
func Facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.Kind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	for _, in := range s.Interfaces {
		n := in.Name
		add(n+"/type", in.Type, probe.Exact)
		add(n+"/mtu", fmt.Sprint(in.MTU), probe.Exact)
		add(n+"/txqueuelen", fmt.Sprint(in.TxQLen), probe.Exact)
		add(n+"/flags", strings.Join(in.Flags, ","), probe.Exact)
		add(n+"/state", in.OperState, probe.Exact)
		if in.MAC != "" {
			add(n+"/mac", in.MAC, probe.Exact)
		}
		if in.Master != "" {
			add(n+"/master", in.Master, probe.Exact)
		}
		if in.PeerIndex != 0 {
			add(n+"/peer-index", fmt.Sprint(in.PeerIndex), probe.Info)
		}
		for _, fam := range []string{"ipv4", "ipv6"} {
			add(n+"/addrs/"+fam, addrList(in.Addrs, fam), probe.Exact)
		}
	}
	add("count", fmt.Sprint(s.Total), probe.Info)
	if s.Truncated {
		add("truncated", fmt.Sprintf("true (%d of %d shown)", len(s.Interfaces), s.Total), probe.Exact)
	}
	if s.AddrError != nil {
		add("addr-error", s.AddrError.Name(), probe.Exact)
	}
	return out
}

// addrList is a canonical, sorted rendering of one family's addresses.
func addrList(addrs []Addr, family string) string {
	var parts []string
	for _, a := range addrs {
		if a.Family != family {
			continue
		}
		p := a.CIDR + " " + a.Scope
		if len(a.Flags) > 0 {
			p += " " + strings.Join(a.Flags, ",")
		}
		if a.Peer != "" {
			p += " peer " + a.Peer
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// Identity returns the subject's own addresses, MACs and per-pod names: every address
// and MAC of a non-loopback interface, and alt-names/aliases that CNIs set per sandbox.
func (*Plugin) Identity(raw json.RawMessage) (probe.Identity, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return probe.Identity{}, fmt.Errorf("decode interfaces section: %w", err)
	}
	return Identity(&s), nil
}

// Identity is the pure form of Plugin.Identity.
func Identity(s *Section) probe.Identity {
	var id probe.Identity
	seen := map[string]bool{}
	once := func(list *[]string, v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, in := range s.Interfaces {
		if in.Type == "loopback" {
			continue
		}
		for _, a := range in.Addrs {
			if ip := net.ParseIP(a.IP()); ip != nil && !ip.IsLoopback() {
				once(&id.IPs, ip.String())
			}
		}
		if in.MAC != "" && in.MAC != "00:00:00:00:00:00" {
			once(&id.MACs, in.MAC)
		}
		for _, n := range in.AltNames {
			once(&id.Names, n)
		}
		once(&id.Names, in.Alias)
	}
	return id
}

var (
	_ probe.Plugin     = (*Plugin)(nil)
	_ probe.Identifier = (*Plugin)(nil)
)
