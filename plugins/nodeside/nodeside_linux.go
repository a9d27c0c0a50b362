package nodeside

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect reads the node side of env.PodIPs from the prober's own network namespace,
// which must be the node's (a hostNetwork pod). Without pod IPs there is no section.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	if len(env.PodIPs) == 0 {
		return nil, probe.ErrNotAsked
	}
	var ips []netip.Addr
	for _, s := range env.PodIPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("pod IP %q: %w", s, err)
		}
		ips = append(ips, a.Unmap())
	}
	s := &Section{PodIPs: env.PodIPs, PodIfindex: env.PodPeerIndex, Sysctls: map[string]string{}, SysctlErrors: map[string]string{}}
	for _, ip := range ips {
		rt, rerr := netprobe.RouteGet(ip, 0, 0)
		s.RouteGet = append(s.RouteGet, RouteGet{IP: ip.String(), Route: rt, Error: rerr})
	}
	s.Veth, s.VethError = findVeth(env.PodPeerIndex, s.RouteGet)
	if s.Veth != nil {
		readSysctls(s, filepath.Join(env.Proc, "sys"), s.Veth.Name)
	} else {
		readSysctls(s, filepath.Join(env.Proc, "sys"), "")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	matchingRoutes(s, ips)
	readWayBack(s, ips)
	vethName := ""
	if s.Veth != nil {
		vethName = s.Veth.Name
	}
	s.Netfilter, s.Felix = listNetfilter(ips, vethName, filepath.Join(env.Proc, "net"))
	s.Conntrack = readConntrack(ips, env.Proc)
	return s, nil
}

// findVeth returns the host end of the pod's veth: the link with the pod's peer index,
// or, without one, the device the route to the pod's first IP leaves by.
func findVeth(index int, gets []RouteGet) (*netstate.Interface, *report.Error) {
	var l netlink.Link
	var err error
	switch {
	case index > 0:
		l, err = netlink.LinkByIndex(index)
		if err != nil {
			return nil, report.ErrorOf(fmt.Errorf("no link with ifindex %d (the pod's eth0 peer index) in this network namespace: %w", index, err))
		}
	case len(gets) > 0 && gets[0].Route != nil && gets[0].Route.Dev != "":
		l, err = netlink.LinkByName(gets[0].Route.Dev)
		if err != nil {
			return nil, report.ErrorOf(fmt.Errorf("link %s of the route to %s: %w", gets[0].Route.Dev, gets[0].IP, err))
		}
	default:
		return nil, report.ErrorOf(errors.New("no --pod-ifindex and no route to the pod's IP: the host end of its veth is unknown"))
	}
	links := []netlink.Link{l}
	if m := l.Attrs().MasterIndex; m > 0 {
		if ml, err := netlink.LinkByIndex(m); err == nil {
			links = append(links, ml)
		}
	}
	for _, in := range netstate.ConvertLinks(links, nil) {
		if in.Index == l.Attrs().Index {
			return &in, nil
		}
	}
	return nil, report.ErrorOf(fmt.Errorf("link %d vanished while read", index))
}

// vethSysctls are the per-interface settings that decide whether the node answers ARP
// for the pod, forwards its packets and accepts them back.
var vethSysctls = []string{
	"net/ipv4/conf/%s/proxy_arp",
	"net/ipv4/conf/%s/rp_filter",
	"net/ipv4/conf/%s/forwarding",
	"net/ipv4/conf/%s/accept_local",
	"net/ipv4/conf/%s/route_localnet",
	"net/ipv6/conf/%s/forwarding",
	"net/ipv6/conf/%s/proxy_ndp",
}

func readSysctls(s *Section, sysRoot, veth string) {
	ifcs := []string{"all", "default"}
	if veth != "" {
		ifcs = append(ifcs, veth)
	}
	for _, ifc := range ifcs {
		for _, pat := range vethSysctls {
			rel := fmt.Sprintf(pat, ifc)
			b, err := os.ReadFile(filepath.Join(sysRoot, rel))
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) || ifc == veth {
					s.SysctlErrors[rel] = report.ErrorOf(err).Name()
				}
				continue
			}
			s.Sysctls[rel] = netstate.SysctlValue(b, 64)
		}
	}
}

// matchingRoutes keeps the routes of every table whose destination holds a pod IP.
func matchingRoutes(s *Section, ips []netip.Addr) {
	names := map[int]string{}
	if links, err := netlink.LinkList(); err == nil || errors.Is(err, netlink.ErrDumpInterrupted) {
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	s.Routes = []netstate.Route{}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		var want []netip.Addr
		for _, ip := range ips {
			if ip.Is4() == (fam == unix.AF_INET) {
				want = append(want, ip)
			}
		}
		if len(want) == 0 {
			continue
		}
		err := netlink.RouteListFilteredIter(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE, func(r netlink.Route) bool {
			if !holdsAny(r.Dst, want) {
				return true
			}
			s.RoutesTotal++
			if len(s.Routes) < MaxRoutes {
				s.Routes = append(s.Routes, netstate.ConvertRoute(r, names))
			} else {
				s.Truncated = true
			}
			return true
		})
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			if s.RouteErrors == nil {
				s.RouteErrors = map[string]*report.Error{}
			}
			s.RouteErrors[familyName(fam)] = report.ErrorOf(err)
		}
	}
}

// holdsAny: a nil destination is a default route, which holds every address.
func holdsAny(dst *net.IPNet, ips []netip.Addr) bool {
	if dst == nil {
		return true
	}
	for _, ip := range ips {
		if dst.Contains(ip.AsSlice()) {
			return true
		}
	}
	return false
}

func familyName(fam int) string {
	if fam == unix.AF_INET6 {
		return "ipv6"
	}
	return "ipv4"
}

// readWayBack reads what decides, past the routes, whether a reply reaches the pod: the
// node's route for a packet to the pod arriving from beyond the node, its policy rules,
// and its neighbour entries for the pod (the MAC it sends the pod's packets to).
func readWayBack(s *Section, ips []netip.Addr) {
	for _, ip := range ips {
		rr := ReplyRoute{IP: ip.String()}
		gw, dev, err := defaultRoute(ip.Is4())
		if err != nil {
			rr.Error = err
		} else {
			rr.From, rr.Iif = gw.String(), dev.Attrs().Name
			rr.Route, rr.Error = netprobe.RouteGetInput(ip, gw, dev.Attrs().Index)
		}
		s.ReplyRoute = append(s.ReplyRoute, rr)
	}
	readRules(s, ips)
	names := map[int]string{}
	if links, err := netlink.LinkList(); err == nil || errors.Is(err, netlink.ErrDumpInterrupted) {
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	neighs, err := netlink.NeighList(0, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		s.NeighError = report.ErrorOf(fmt.Errorf("list neighbours: %w", err))
		return
	}
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || !slices.Contains(ips, a.Unmap()) {
			continue
		}
		nb := Neighbour{IP: a.Unmap().String(), Dev: names[n.LinkIndex], State: netstate.StateName(n.State)}
		if nb.Dev == "" {
			nb.Dev = fmt.Sprintf("if%d", n.LinkIndex)
		}
		if len(n.HardwareAddr) > 0 {
			nb.LLAddr = n.HardwareAddr.String()
		}
		s.Neighbours = append(s.Neighbours, nb)
	}
}

// defaultRoute is the main table's default route of a family: its gateway and device,
// where replies from beyond the node come in.
func defaultRoute(v4 bool) (netip.Addr, netlink.Link, *report.Error) {
	fam, dst := unix.AF_INET6, &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	if v4 {
		fam, dst = unix.AF_INET, &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	rs, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN, Dst: dst}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_DST)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return netip.Addr{}, nil, report.ErrorOf(fmt.Errorf("list the default route: %w", err))
	}
	for _, r := range rs {
		gw := r.Gw
		if gw == nil && len(r.MultiPath) > 0 {
			gw = r.MultiPath[0].Gw
			r.LinkIndex = r.MultiPath[0].LinkIndex
		}
		if r.LinkIndex == 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(gw)
		if !ok {
			// A default route without a next hop (dev only): a reply from any address
			// beyond the node comes in by that device, one of the documentation range
			// as well as another, and rp_filter finds the way back to it there.
			a = testNet(v4)
		}
		l, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		return a.Unmap(), l, nil
	}
	return netip.Addr{}, nil, &report.Error{Message: "no default route: where replies from beyond the node come in is unknown"}
}

// readRules keeps the node's policy rules that can select a packet to a pod IP.
func readRules(s *Section, ips []netip.Addr) {
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		name := familyName(fam)
		req := nl.NewNetlinkRequest(unix.RTM_GETRULE, unix.NLM_F_DUMP)
		req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(fam)}})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWRULE)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			if s.RuleErrors == nil {
				s.RuleErrors = map[string]*report.Error{}
			}
			s.RuleErrors[name] = report.ErrorOf(fmt.Errorf("dump %s rules: %w", name, err))
			continue
		}
		for _, m := range msgs {
			r, err := netstate.ParseRule(m)
			if err != nil || r.IsDefault() || !selectsAny(r.To, ips) {
				continue
			}
			s.Rules = append(s.Rules, r)
		}
	}
}

// testNet is an address of the documentation ranges (RFC 5737, RFC 3849): beyond every
// node, and no node's own.
func testNet(v4 bool) netip.Addr {
	if v4 {
		return netip.MustParseAddr("192.0.2.1")
	}
	return netip.MustParseAddr("2001:db8::1")
}
