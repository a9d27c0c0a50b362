package neighbours

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect dumps the neighbour tables of the current network namespace and marks the
// entries that are next hops of main-table routes.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	links, err := netlink.LinkList()
	interrupted := errors.Is(err, netlink.ErrDumpInterrupted)
	if err != nil && !interrupted {
		return nil, fmt.Errorf("list links over netlink (for neighbour device names): %w", err)
	}
	names := map[int]string{}
	veths := map[string]bool{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		if l.Type() == "veth" {
			veths[l.Attrs().Name] = true
		}
	}
	neighs, err := netlink.NeighList(0, netlink.FAMILY_ALL)
	if errors.Is(err, netlink.ErrDumpInterrupted) {
		interrupted, err = true, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list neighbours over netlink: %w", err)
	}
	// Only the gateways are kept, while the dump streams: a node-sized main table would
	// otherwise sit in memory as route structs just to yield a handful of next hops.
	gws := map[string]bool{}
	rerr := netlink.RouteListFilteredIter(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE, func(r netlink.Route) bool {
		for k := range Gateways([]netlink.Route{r}, names) {
			gws[k] = true
		}
		return true
	})
	if errors.Is(rerr, netlink.ErrDumpInterrupted) {
		rerr = nil
	}
	s := Convert(neighs, names, gws)
	for i := range s.Neighbours {
		n := &s.Neighbours[i]
		// A static entry's address was configured, not answered by the peer.
		n.Veth = veths[n.Dev] && !strings.Contains(n.State, "PERMANENT") && !strings.Contains(n.State, "NOARP")
	}
	s.GatewayError = report.ErrorOf(rerr)
	s.Interrupted = interrupted
	return s, nil
}

// Gateways returns "dev/ip" of every next hop of the given routes.
func Gateways(rs []netlink.Route, names map[int]string) map[string]bool {
	out := map[string]bool{}
	add := func(gw net.IP, idx int) {
		if len(gw) > 0 {
			out[names[idx]+"/"+gw.String()] = true
		}
	}
	for _, r := range rs {
		add(r.Gw, r.LinkIndex)
		for _, nh := range r.MultiPath {
			add(nh.Gw, nh.LinkIndex)
		}
	}
	return out
}

// Convert builds the section from netlink entries, gateways first, then by device and
// address, capped at MaxNeighbours. Entries of other families (bridge FDB) and multicast
// entries are skipped.
func Convert(ns []netlink.Neigh, names map[int]string, gateways map[string]bool) *Section {
	s := &Section{Neighbours: []Neighbour{}}
	for _, n := range ns {
		if (n.Family != unix.AF_INET && n.Family != unix.AF_INET6) || n.IP == nil {
			continue
		}
		if n.IP.IsMulticast() {
			// Multicast entries (NOARP, MAC computed from the group) say nothing, and
			// the solicited-node group is derived from the subject's own address.
			continue
		}
		out := Neighbour{
			Family: "ipv4",
			IP:     n.IP.String(),
			Dev:    names[n.LinkIndex],
			State:  netstate.StateName(n.State),
			Router: n.Flags&unix.NTF_ROUTER != 0,
			Flags:  flagNames(n.Flags),
		}
		if n.Family == unix.AF_INET6 {
			out.Family = "ipv6"
		}
		if out.Dev == "" {
			out.Dev = fmt.Sprintf("if%d", n.LinkIndex)
		}
		if len(n.HardwareAddr) > 0 {
			out.LLAddr = n.HardwareAddr.String()
		}
		out.Gateway = gateways[out.Key()]
		s.Neighbours = append(s.Neighbours, out)
	}
	sort.Slice(s.Neighbours, func(i, j int) bool {
		a, b := s.Neighbours[i], s.Neighbours[j]
		if a.Gateway != b.Gateway {
			return a.Gateway
		}
		if a.Dev != b.Dev {
			return a.Dev < b.Dev
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.IP < b.IP
	})
	s.Total = len(s.Neighbours)
	if len(s.Neighbours) > MaxNeighbours {
		s.Neighbours, s.Truncated = s.Neighbours[:MaxNeighbours], true
	}
	return s
}

func flagNames(f int) []string {
	var out []string
	for _, x := range []struct {
		bit  int
		name string
	}{{unix.NTF_PROXY, "proxy"}, {unix.NTF_EXT_LEARNED, "extern_learn"}, {unix.NTF_OFFLOADED, "offload"}} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}
