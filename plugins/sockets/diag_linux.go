package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// vishvananda/netlink's SocketDiag helpers cover TCP and UDP but neither raw sockets nor
// INET_DIAG_MARK / INET_DIAG_SKV6ONLY / INET_DIAG_SOCKOPT, so the request and the reply
// are done here on x/sys/unix.

// inet_diag attribute types (linux/inet_diag.h).
const (
	attrInfo     = 2
	attrV6Only   = 11
	attrMark     = 15
	attrSockopt  = 22
	extInfoBit   = 1 << (attrInfo - 1)
	sizeofReqV2  = 56
	sizeofDiagID = 48
	sizeofMsg    = 72
)

// diagRequest builds an inet_diag_req_v2 dump of every state. For raw sockets the
// protocol field selects raw_diag and the pad byte (sdiag_raw_protocol) names the raw
// protocol; 0 asks for all of them.
func diagRequest(family, proto uint8, seq uint32) []byte {
	b := make([]byte, unix.SizeofNlMsghdr+sizeofReqV2)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(b[8:], seq)
	r := b[unix.SizeofNlMsghdr:]
	r[0], r[1] = family, proto
	if proto == unix.IPPROTO_TCP {
		r[2] = extInfoBit
	}
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	return b
}

// errNoDiag means the kernel has no sock_diag handler for the protocol (module missing).
var errNoDiag = errors.New("no sock_diag handler for this protocol")

// dumpDiag asks the kernel for one table over a fresh NETLINK_SOCK_DIAG socket.
func dumpDiag(table string) (socks []Socket, marks bool, err error) {
	proto, v6, _ := splitTable(table)
	family := uint8(unix.AF_INET)
	if v6 {
		family = unix.AF_INET6
	}
	ipproto := map[string]uint8{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "raw": unix.IPPROTO_RAW}[proto]
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, false, fmt.Errorf("netlink sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	// A dump that stalls must not hang the prober.
	tv := unix.Timeval{Sec: 5}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, false, fmt.Errorf("netlink sock_diag bind: %w", err)
	}
	const seq = 1
	if err := unix.Sendto(fd, diagRequest(family, ipproto, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, false, fmt.Errorf("netlink sock_diag request: %w", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return socks, marks, fmt.Errorf("netlink sock_diag receive: %w", err)
		}
		done, part, m, err := ParseDiagReplies(buf[:n], table)
		socks = append(socks, part...)
		marks = marks || m
		if err != nil || done {
			return socks, marks, err
		}
	}
}

// ParseDiagReplies decodes one datagram of a sock_diag dump: netlink messages holding
// inet_diag_msg and its attributes. done is set by NLMSG_DONE; marks says whether the
// kernel sent INET_DIAG_MARK (it does only to CAP_NET_ADMIN).
func ParseDiagReplies(b []byte, table string) (done bool, socks []Socket, marks bool, err error) {
	_, _, ok := splitTable(table)
	if !ok {
		return true, nil, false, fmt.Errorf("unknown socket table %q", table)
	}
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return true, socks, marks, fmt.Errorf("netlink message length %d of %d bytes", l, len(b))
		}
		body := b[unix.SizeofNlMsghdr:l]
		b = b[min(nlAlign(l), len(b)):]
		switch typ {
		case unix.NLMSG_DONE, unix.NLMSG_ERROR:
			// A dump that fails to start (no raw_diag in this kernel) ends with a DONE
			// carrying the errno rather than with an error message.
			errno := int32(0)
			if len(body) >= 4 {
				errno = -int32(binary.NativeEndian.Uint32(body))
			} else if typ == unix.NLMSG_ERROR {
				return true, socks, marks, errors.New("short netlink error message")
			}
			if errno <= 0 {
				if typ == unix.NLMSG_DONE {
					return true, socks, marks, nil
				}
				continue
			}
			if unix.Errno(errno) == unix.ENOENT {
				return true, socks, marks, fmt.Errorf("%w: %w", errNoDiag, unix.Errno(errno))
			}
			return true, socks, marks, unix.Errno(errno)
		case unix.SOCK_DIAG_BY_FAMILY:
			s, m, err := parseDiagMsg(body, table)
			if err != nil {
				return true, socks, marks, err
			}
			marks = marks || m
			socks = append(socks, s)
		}
	}
	return false, socks, marks, nil
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

func parseDiagMsg(b []byte, table string) (Socket, bool, error) {
	if len(b) < sizeofMsg {
		return Socket{}, false, fmt.Errorf("inet_diag_msg of %d bytes, want %d", len(b), sizeofMsg)
	}
	family, state := b[0], b[1]
	id := b[4 : 4+sizeofDiagID]
	sport, dport := binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:])
	var src, dst netip.Addr
	if family == unix.AF_INET6 {
		src, dst = netip.AddrFrom16([16]byte(id[4:20])), netip.AddrFrom16([16]byte(id[20:36]))
	} else {
		src, dst = netip.AddrFrom4([4]byte(id[4:8])), netip.AddrFrom4([4]byte(id[20:24]))
	}
	s := Socket{
		Table:   table,
		State:   stateName(state),
		Local:   netip.AddrPortFrom(src, sport).String(),
		Ifindex: int(binary.NativeEndian.Uint32(id[36:])),
		UID:     binary.NativeEndian.Uint32(b[64:]),
		Inode:   uint64(binary.NativeEndian.Uint32(b[68:])),
	}
	if dport != 0 || !dst.IsUnspecified() {
		s.Remote = netip.AddrPortFrom(dst, dport).String()
	}
	marks := false
	for a := b[sizeofMsg:]; len(a) >= 4; {
		l, typ := int(binary.NativeEndian.Uint16(a[0:])), binary.NativeEndian.Uint16(a[2:])&0x3fff // drop NLA_F_NESTED and NLA_F_NET_BYTEORDER
		if l < 4 || l > len(a) {
			break
		}
		v := a[4:l]
		switch typ {
		case attrMark:
			if len(v) >= 4 {
				m := binary.NativeEndian.Uint32(v)
				marks = true
				if m != 0 {
					s.Mark = m
				}
			}
		case attrV6Only:
			if len(v) >= 1 && family == unix.AF_INET6 {
				v6only := v[0] != 0
				s.V6Only = &v6only
			}
		case attrSockopt:
			if len(v) >= 2 {
				s.Freebind = v[0]&(1<<2) != 0
				s.Transparent = v[0]&(1<<5) != 0
				s.BindNoPort = v[1]&1 != 0
			}
		case attrInfo:
			s.TCP = parseTCPInfo(v)
		}
		a = a[min(nlAlign(l), len(a)):]
	}
	return s, marks, nil
}

// parseTCPInfo picks from struct tcp_info what tells a struggling connection apart.
func parseTCPInfo(v []byte) *TCPInfo {
	if len(v) < 104 {
		return nil
	}
	t := &TCPInfo{
		Retransmits:  int(v[2]),
		RTTUs:        binary.NativeEndian.Uint32(v[68:]),
		RTTVarUs:     binary.NativeEndian.Uint32(v[72:]),
		TotalRetrans: binary.NativeEndian.Uint32(v[100:]),
	}
	if *t == (TCPInfo{}) {
		return nil
	}
	return t
}
