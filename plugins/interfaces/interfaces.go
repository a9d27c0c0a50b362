package interfaces

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "interfaces"

// MaxInterfaces caps the list: a node's host namespace with thousands of veths is not a
// pod, and the report must stay small.
const MaxInterfaces = 256

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Identity:  Identity,
		Rules: map[string]contract.Rule{
			"mtu-differs":   MTUDiffers,
			"down":          Down,
			"ipv6-one-only": IPv6OneOnly,
			"dad":           DAD,
		},
		Analysis: &analysis,
	})
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

// Interface and Addr are the shared value types (other sections hold them too).
type (
	Interface = netstate.Interface
	Addr      = netstate.Addr
)

// Plugin collects the interfaces section.
type Plugin struct{}

// Facts flattens the section into facts keyed by interface name.
func Facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
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
			add(n+"/peer-index", fmt.Sprint(in.PeerIndex), probe.ShowOnly)
		}
		for _, fam := range []string{"ipv4", "ipv6"} {
			add(n+"/addrs/"+fam, addrList(in.Addrs, fam), probe.Exact)
		}
	}
	add("count", fmt.Sprint(s.Total), probe.ShowOnly)
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
func Identity(s *Section) probe.SelfValues {
	var id probe.SelfValues
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
				// The address's subnet: with a CNI that gives each node a range, the
				// node's (normalised between nodes).
				if _, n, err := net.ParseCIDR(a.CIDR); err == nil && !ip.IsLinkLocalUnicast() {
					once(&id.NodeNets, n.String())
				}
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

var _ probe.Collector = (*Plugin)(nil)
