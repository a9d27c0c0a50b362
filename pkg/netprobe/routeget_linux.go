package netprobe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// RouteGet asks the kernel which route a packet to ip would take, like
// `ip route get IP ipproto tcp dport N`. netlink's RouteGetWithOptions cannot send the
// protocol and port selectors, so the request is built here.
func RouteGet(ip netip.Addr, proto uint8, dport int) (*RouteAnswer, *report.Error) {
	return RouteGetAs(ip, proto, dport, -1)
}

// RouteGetAs is RouteGet for a packet of a socket owned by uid (RTA_UID), so policy rules
// with a uidrange match as they do for that user's connects; uid < 0 asks as the caller.
func RouteGetAs(ip netip.Addr, proto uint8, dport int, uid int) (*RouteAnswer, *report.Error) {
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
	if uid >= 0 {
		b := make([]byte, 4)
		nl.NativeEndian().PutUint32(b, uint32(uid))
		req.AddData(nl.NewRtAttr(unix.RTA_UID, b))
	}
	return ask(req, ip)
}

// RouteGetInput asks how the kernel routes a packet to ip that arrives from src on the
// interface with index iif, like `ip route get IP from SRC iif DEV`: the input path a
// forwarded packet takes (policy rules with iif and from selectors, forwarding, rp_filter).
func RouteGetInput(ip, src netip.Addr, iif int) (*RouteAnswer, *report.Error) {
	ip, src = ip.Unmap(), src.Unmap()
	family, bits := unix.AF_INET, uint8(32)
	if ip.Is6() {
		family, bits = unix.AF_INET6, 128
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_REQUEST)
	req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family), Dst_len: bits, Src_len: bits, Flags: unix.RTM_F_LOOKUP_TABLE}})
	req.AddData(nl.NewRtAttr(unix.RTA_DST, ip.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.RTA_SRC, src.AsSlice()))
	b := make([]byte, 4)
	nl.NativeEndian().PutUint32(b, uint32(iif))
	req.AddData(nl.NewRtAttr(unix.RTA_IIF, b))
	return ask(req, ip)
}

// ask sends a route request for ip and reads the kernel's one answer.
func ask(req *nl.NetlinkRequest, ip netip.Addr) (*RouteAnswer, *report.Error) {
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWROUTE)
	if err != nil {
		return nil, routeErrorOf(ip, err)
	}
	if len(msgs) == 0 {
		return nil, &report.Error{Message: "route get " + ip.String() + ": empty answer"}
	}
	return parseRoute(msgs[0])
}

func routeErrorOf(ip netip.Addr, err error) *report.Error {
	e := report.ErrorOf(fmt.Errorf("route get %s: %w", ip, err))
	var errno syscall.Errno
	if e.Errno == "" && errors.As(err, &errno) {
		e.Errno, e.Code = unix.ErrnoName(errno), int(errno)
	}
	return e
}

func parseRoute(m []byte) (*RouteAnswer, *report.Error) {
	if len(m) < unix.SizeofRtMsg {
		return nil, &report.Error{Message: "route get: short answer"}
	}
	msg := nl.DeserializeRtMsg(m)
	attrs, err := parseAttrs(m[unix.SizeofRtMsg:])
	if err != nil {
		return nil, report.ErrorOf(fmt.Errorf("route get: parse answer: %w", err))
	}
	r := &RouteAnswer{Type: netstate.TypeName(int(msg.Type)), Table: netstate.TableName(int(msg.Table))}
	for _, a := range attrs {
		switch a.Type {
		case unix.RTA_TABLE:
			if len(a.Value) >= 4 {
				r.Table = netstate.TableName(int(nl.NativeEndian().Uint32(a.Value)))
			}
		case unix.RTA_DST:
			r.Dst = addrString(a.Value)
		case unix.RTA_PREFSRC:
			r.Src = addrString(a.Value)
		case unix.RTA_GATEWAY:
			r.Gateway = addrString(a.Value)
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

func addrString(b []byte) string {
	if ip, ok := netip.AddrFromSlice(b); ok {
		return ip.Unmap().String()
	}
	return ""
}
