package routeget

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Collect looks up a route per target address.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	sec := &Section{Lookups: []Lookup{}}
	for _, t := range env.Targets {
		if t.Scheme == target.DNS {
			continue
		}
		res := netprobe.Resolve(ctx, t.Host)
		addrs := res.Addrs()
		if len(addrs) == 0 {
			l := Lookup{Target: t.String(), Resolve: res}
			l.Error = &report.Error{Message: "no address to look up"}
			if res.Error != nil {
				l.Error = res.Error
			}
			sec.Lookups = append(sec.Lookups, l)
			continue
		}
		proto, port := selectors(t)
		for _, a := range addrs {
			l := Lookup{Target: t.String(), Address: a.IP.String(), Family: a.Family, Key: a.Key(), Dport: port}
			if proto != 0 {
				l.IPProto = protoName(proto)
			}
			l.Route, l.Error = Get(a.IP, proto, port)
			sec.Lookups = append(sec.Lookups, l)
		}
	}
	return sec, nil
}

func selectors(t target.Target) (proto uint8, port int) {
	switch t.Scheme {
	case target.TCP, target.HTTP, target.HTTPS:
		return unix.IPPROTO_TCP, t.Port
	case target.UDP:
		return unix.IPPROTO_UDP, t.Port
	case target.ICMP:
		return 0, 0
	}
	return 0, 0
}

func protoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// Get asks the kernel which route a packet to ip would take, like
// `ip route get IP ipproto tcp dport N`. netlink's RouteGetWithOptions cannot send the
// protocol and port selectors, so the request is built here.
func Get(ip netip.Addr, proto uint8, dport int) (*Route, *report.Error) {
	ip = ip.Unmap()
	family, bits := unix.AF_INET, uint8(32)
	if ip.Is6() {
		family, bits = unix.AF_INET6, 128
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_REQUEST)
	// RTM_F_LOOKUP_TABLE makes the kernel name the table the route was found in.
	req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family), Dst_len: bits, Flags: unix.RTM_F_LOOKUP_TABLE}})
	req.AddData(nl.NewRtAttr(unix.RTA_DST, ip.AsSlice()))
	if proto != 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_IP_PROTO, []byte{proto}))
		if dport > 0 {
			b := make([]byte, 2)
			binary.BigEndian.PutUint16(b, uint16(dport))
			req.AddData(nl.NewRtAttr(unix.RTA_DPORT, b))
		}
	}
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWROUTE)
	if err != nil {
		return nil, errorOf(ip, err)
	}
	if len(msgs) == 0 {
		return nil, &report.Error{Message: "route get " + ip.String() + ": empty answer"}
	}
	return parseRoute(msgs[0])
}

func errorOf(ip netip.Addr, err error) *report.Error {
	e := report.ErrorOf(fmt.Errorf("route get %s: %w", ip, err))
	var errno syscall.Errno
	if e.Errno == "" && asErrno(err, &errno) {
		e.Errno, e.Code = unix.ErrnoName(errno), int(errno)
	}
	return e
}

func parseRoute(m []byte) (*Route, *report.Error) {
	if len(m) < unix.SizeofRtMsg {
		return nil, &report.Error{Message: "route get: short answer"}
	}
	msg := nl.DeserializeRtMsg(m)
	attrs, err := parseAttrs(m[unix.SizeofRtMsg:])
	if err != nil {
		return nil, report.ErrorOf(fmt.Errorf("route get: parse answer: %w", err))
	}
	r := &Route{Type: TypeName(msg.Type), Table: TableName(uint32(msg.Table))}
	for _, a := range attrs {
		switch a.Type {
		case unix.RTA_TABLE:
			if len(a.Value) >= 4 {
				r.Table = TableName(nl.NativeEndian().Uint32(a.Value))
			}
		case unix.RTA_DST:
			r.Dst = ipString(a.Value)
		case unix.RTA_PREFSRC:
			r.Src = ipString(a.Value)
		case unix.RTA_GATEWAY:
			r.Gateway = ipString(a.Value)
		case unix.RTA_OIF:
			if len(a.Value) >= 4 {
				idx := int(nl.NativeEndian().Uint32(a.Value))
				r.Dev = "if" + strconv.Itoa(idx)
				if ifi, err := net.InterfaceByIndex(idx); err == nil {
					r.Dev = ifi.Name
				}
			}
		case unix.RTA_METRICS:
			if sub, err := parseAttrs(a.Value); err == nil {
				for _, s := range sub {
					if s.Type == unix.RTAX_MTU && len(s.Value) >= 4 {
						r.MTU = int(nl.NativeEndian().Uint32(s.Value))
					}
				}
			}
		}
	}
	return r, nil
}

type rtAttr struct {
	Type  uint16
	Value []byte
}

// parseAttrs splits route attributes, refusing lengths that overrun the buffer
// (netlink's own parser panics on them, which its fuzz test found).
func parseAttrs(b []byte) ([]rtAttr, error) {
	var out []rtAttr
	for len(b) >= unix.SizeofRtAttr {
		l := int(nl.NativeEndian().Uint16(b[0:2]))
		typ := nl.NativeEndian().Uint16(b[2:4]) &^ unix.NLA_F_NESTED
		if l < unix.SizeofRtAttr || l > len(b) {
			return nil, fmt.Errorf("route attribute of length %d in %d bytes", l, len(b))
		}
		out = append(out, rtAttr{Type: typ, Value: b[unix.SizeofRtAttr:l]})
		next := (l + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
	}
	return out, nil
}

func ipString(b []byte) string {
	if ip, ok := netip.AddrFromSlice(b); ok {
		return ip.Unmap().String()
	}
	return ""
}

// TypeName names a route type as ip(8) does.
func TypeName(t uint8) string {
	names := map[uint8]string{
		unix.RTN_UNICAST: "unicast", unix.RTN_LOCAL: "local", unix.RTN_BROADCAST: "broadcast",
		unix.RTN_ANYCAST: "anycast", unix.RTN_MULTICAST: "multicast", unix.RTN_BLACKHOLE: "blackhole",
		unix.RTN_UNREACHABLE: "unreachable", unix.RTN_PROHIBIT: "prohibit", unix.RTN_THROW: "throw",
		unix.RTN_NAT: "nat",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}

// TableName names a routing table as ip(8) does for the reserved ids.
func TableName(id uint32) string {
	switch id {
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	}
	return strconv.FormatUint(uint64(id), 10)
}

// regatherWait is how long DefaultTargets waits before looking for a default gateway a
// second time: a route that flaps at a few Hz is absent for tens of milliseconds.
const regatherWait = 60 * time.Millisecond

// DefaultTargets offers the default gateways as icmp:// targets. IPv6 link-local gateways
// (fe80::/10) are left out: a target cannot carry the interface zone they need. Where
// there is none, it looks once more a moment later and takes the union, so a default
// route that was away for an instant does not take the gateway off the targets.
func (*Plugin) DefaultTargets(ctx context.Context, env *probe.Env) []target.Target {
	out := gateways(env)
	if len(out) == 0 {
		select {
		case <-time.After(regatherWait):
			out = gateways(env)
		case <-ctx.Done():
		}
	}
	return out
}

func gateways(env *probe.Env) []target.Target {
	var out []target.Target
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			env.Logf("routeget: list %s routes for the default gateway: %v", famName(fam), err)
			continue
		}
		for _, r := range routes {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			gws := []net.IP{r.Gw}
			for _, nh := range r.MultiPath {
				gws = append(gws, nh.Gw)
			}
			for _, gw := range gws {
				if gw == nil || gw.IsUnspecified() || (gw.To4() == nil && gw.IsLinkLocalUnicast()) {
					continue
				}
				out = append(out, target.Target{Scheme: target.ICMP, Host: gw.String()})
			}
		}
	}
	return out
}

func famName(f int) string {
	if f == netlink.FAMILY_V6 {
		return "IPv6"
	}
	return "IPv4"
}
