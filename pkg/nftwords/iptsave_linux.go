package nftwords

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
)

// Iptables renders a rule of an iptables-nft table as iptables-save prints it, "-A
// CHAIN" left out: match ("-d 10.0.0.0/8 -p tcp -m tcp --dport 80 -m owner --uid-owner 0")
// and target ("-j REJECT --reject-with tcp-reset"). It reads the expressions the way
// iptables-nft's own parser does: native payload, meta and limit expressions it writes
// for -s/-d/-i/-o/-p, the tcp/udp ports and flags, mark and limit, and the xt match and
// target expressions whose info structs are decoded by the kernel's layout (xtinfo.go).
// ok=false when the rule holds an expression iptables-nft does not write: it is then
// described in nft's words instead.
func Iptables(fam nftables.TableFamily, exprs []expr.Any, setName func(uint16) string) (match, target string, ok bool) {
	v6 := fam == nftables.TableFamilyIPv6
	var (
		src, dst, in, out, proto string // "-s 10.0.0.0/8" … with "! " where inverted
		protoNum                 byte
		matches                  []string
		tcpAt                    = -1 // index in matches of the implicit tcp/udp match
		tcp                      struct {
			sport, dport       *[2]uint16
			invS, invD, invF   bool
			flagMask, flagsCmp uint8
			flags              bool
		}
	)
	type reg struct {
		meta    expr.MetaKey
		isMeta  bool
		base    expr.PayloadBase
		off, n  uint32
		mask    []byte
		loaded  bool
		pending *[2]uint16 // a port range being built from >= and <=
	}
	regs := map[uint32]*reg{}
	portSlot := func(off uint32) (**[2]uint16, *bool) {
		if off == 0 {
			return &tcp.sport, &tcp.invS
		}
		return &tcp.dport, &tcp.invD
	}
	useTCP := func() {
		if tcpAt < 0 {
			matches = append(matches, "")
			tcpAt = len(matches) - 1
		}
	}
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			if e.SourceRegister {
				return "", "", false
			}
			regs[e.Register] = &reg{meta: e.Key, isMeta: true, loaded: true}
		case *expr.Payload:
			if e.OperationType != expr.PayloadLoad {
				return "", "", false
			}
			regs[e.DestRegister] = &reg{base: e.Base, off: e.Offset, n: e.Len, loaded: true}
		case *expr.Bitwise:
			r := regs[e.SourceRegister]
			if r == nil || len(e.Xor) > 0 && !allZero(e.Xor) {
				return "", "", false
			}
			c := *r
			c.mask = e.Mask
			regs[e.DestRegister] = &c
		case *expr.Cmp:
			r := regs[e.Register]
			if r == nil {
				return "", "", false
			}
			not := ""
			if e.Op == expr.CmpOpNeq {
				not = "! "
			}
			switch {
			case r.isMeta && r.meta == expr.MetaKeyL4PROTO && len(e.Data) == 1 && (e.Op == expr.CmpOpEq || e.Op == expr.CmpOpNeq):
				protoNum = e.Data[0]
				proto = not + "-p " + netstate.IPProtoName(e.Data[0])
			case r.isMeta && (r.meta == expr.MetaKeyIIFNAME || r.meta == expr.MetaKeyOIFNAME):
				name := string(trimNul(e.Data))
				if len(e.Data) > 0 && e.Data[len(e.Data)-1] != 0 {
					name += "+"
				}
				if r.meta == expr.MetaKeyIIFNAME {
					in = not + "-i " + name
				} else {
					out = not + "-o " + name
				}
			case r.isMeta && r.meta == expr.MetaKeyMARK && len(e.Data) == 4:
				mask := uint32(0xffffffff)
				if len(r.mask) == 4 {
					mask = binary.NativeEndian.Uint32(r.mask)
				}
				m := "-m mark"
				if not != "" {
					m += " !"
				}
				matches = append(matches, m+" --mark "+markMask(binary.NativeEndian.Uint32(e.Data), mask))
			case !r.isMeta && r.base == expr.PayloadBaseNetworkHeader:
				a, ok := addrOf(v6, r.off, e.Data, r.mask, r.n)
				if !ok {
					return "", "", false
				}
				if isSrc(v6, r.off) {
					src = not + "-s " + a
				} else {
					dst = not + "-d " + a
				}
			case !r.isMeta && r.base == expr.PayloadBaseTransportHeader && r.n == 2 && (r.off == 0 || r.off == 2):
				if protoNum != unix.IPPROTO_TCP && protoNum != unix.IPPROTO_UDP {
					return "", "", false
				}
				useTCP()
				slot, inv := portSlot(r.off)
				v := binary.BigEndian.Uint16(e.Data)
				switch e.Op {
				case expr.CmpOpEq, expr.CmpOpNeq:
					*slot, *inv = &[2]uint16{v, v}, not != ""
				case expr.CmpOpGte:
					*slot = &[2]uint16{v, 0xffff}
					r.pending = *slot
				case expr.CmpOpLte:
					if r.pending != nil {
						r.pending[1] = v
					} else {
						*slot = &[2]uint16{0, v}
					}
				default:
					return "", "", false
				}
			case !r.isMeta && r.base == expr.PayloadBaseTransportHeader && r.n == 1 && r.off == 13 && protoNum == unix.IPPROTO_TCP:
				useTCP()
				tcp.flags, tcp.flagsCmp, tcp.invF = true, e.Data[0], not != ""
				tcp.flagMask = 0xff
				if len(r.mask) == 1 {
					tcp.flagMask = r.mask[0]
				}
			default:
				return "", "", false
			}
		case *expr.Range:
			r := regs[e.Register]
			if r == nil || r.isMeta || r.base != expr.PayloadBaseTransportHeader || r.n != 2 || len(e.FromData) != 2 || len(e.ToData) != 2 {
				return "", "", false
			}
			useTCP()
			slot, inv := portSlot(r.off)
			*slot = &[2]uint16{binary.BigEndian.Uint16(e.FromData), binary.BigEndian.Uint16(e.ToData)}
			*inv = e.Op == expr.CmpOpNeq
		case *expr.Match:
			m, ok := xtMatchSave(fam, e, setName)
			if !ok {
				return "", "", false
			}
			if m.tcp != nil {
				useTCP()
				t := m.tcp
				if t.SrcPorts != [2]uint16{0, 0xffff} {
					tcp.sport, tcp.invS = &[2]uint16{t.SrcPorts[0], t.SrcPorts[1]}, t.InvFlags&xt.TcpInvSrcPorts != 0
				}
				if t.DstPorts != [2]uint16{0, 0xffff} {
					tcp.dport, tcp.invD = &[2]uint16{t.DstPorts[0], t.DstPorts[1]}, t.InvFlags&xt.TcpInvDestPorts != 0
				}
				if t.FlagsMask != 0 || t.InvFlags&xt.TcpInvFlags != 0 {
					tcp.flags, tcp.flagMask, tcp.flagsCmp, tcp.invF = true, t.FlagsMask, t.FlagsCmp, t.InvFlags&xt.TcpInvFlags != 0
				}
				continue
			}
			matches = append(matches, m.words)
		case *expr.Limit:
			if e.Type != expr.LimitTypePkts || e.Over {
				return "", "", false
			}
			secs := map[expr.LimitTime]uint64{expr.LimitTimeSecond: 1, expr.LimitTimeMinute: 60, expr.LimitTimeHour: 3600, expr.LimitTimeDay: 86400, expr.LimitTimeWeek: 604800}[e.Unit]
			matches = append(matches, "-m limit"+limitWords(limitAvg(e.Rate, secs), e.Burst))
		case *expr.Counter:
		case *expr.Verdict:
			if target != "" {
				return "", "", false
			}
			switch e.Kind {
			case expr.VerdictAccept:
				target = "-j ACCEPT"
			case expr.VerdictDrop:
				target = "-j DROP"
			case expr.VerdictReturn:
				target = "-j RETURN"
			case expr.VerdictQueue:
				target = "-j QUEUE"
			case expr.VerdictJump:
				target = "-j " + e.Chain
			case expr.VerdictGoto:
				target = "-g " + e.Chain
			default:
				return "", "", false
			}
		case *expr.Target:
			if target != "" {
				return "", "", false
			}
			t, ok := xtTargetSave(fam, e)
			if !ok {
				return "", "", false
			}
			target = t
		case *expr.Reject:
			if target != "" {
				return "", "", false
			}
			switch {
			case e.Type == unix.NFT_REJECT_TCP_RST:
				target = "-j REJECT --reject-with tcp-reset"
			case e.Type == unix.NFT_REJECT_ICMP_UNREACH && !v6:
				names := map[uint8]uint32{0: 0, 1: 1, 2: 2, 3: 3, 9: 5, 10: 6, 13: 8}
				w, ok := names[e.Code]
				if !ok {
					return "", "", false
				}
				target = "-j REJECT --reject-with " + rejectWith(w, false)
			default:
				return "", "", false
			}
		default:
			return "", "", false
		}
	}
	if tcpAt >= 0 {
		name := "tcp"
		if protoNum == unix.IPPROTO_UDP {
			name = "udp"
		}
		var s strings.Builder
		s.WriteString("-m " + name)
		port := func(p *[2]uint16, inv bool, opt string) {
			if p == nil || *p == [2]uint16{0, 0xffff} {
				return
			}
			if inv {
				s.WriteString(" !")
			}
			if p[0] == p[1] {
				fmt.Fprintf(&s, " %s %d", opt, p[0])
			} else {
				fmt.Fprintf(&s, " %s %d:%d", opt, p[0], p[1])
			}
		}
		port(tcp.sport, tcp.invS, "--sport")
		port(tcp.dport, tcp.invD, "--dport")
		if tcp.flags {
			if tcp.invF {
				s.WriteString(" !")
			}
			s.WriteString(" --tcp-flags " + tcpFlagWords(tcp.flagMask) + " " + tcpFlagWords(tcp.flagsCmp))
		}
		matches[tcpAt] = s.String()
	}
	var parts []string
	for _, p := range append([]string{src, dst, in, out, proto}, matches...) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " "), target, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func isSrc(v6 bool, off uint32) bool {
	if v6 {
		return off == 8
	}
	return off == 12
}

// addrOf reads a -s/-d comparison: the loaded bytes (a prefix's whole bytes, or all with
// a mask) padded to the address's length, with its prefix length.
func addrOf(v6 bool, off uint32, data, mask []byte, n uint32) (string, bool) {
	size, s, d := 4, uint32(12), uint32(16)
	if v6 {
		size, s, d = 16, 8, 24
	}
	if off != s && off != d || int(n) > size || len(data) < int(n) {
		return "", false
	}
	b := make([]byte, size)
	copy(b, data[:n])
	a, _ := netip.AddrFromSlice(b)
	bits := int(n) * 8
	if len(mask) > 0 {
		bits = int(n)*8 - (len(mask)*8 - ones(mask))
	}
	return fmt.Sprintf("%s/%d", a, bits), true
}

type savedMatch struct {
	words string
	tcp   *xt.Tcp // an explicit tcp/udp match, merged with the native port comparisons
}

// xtMatchSave renders an xt match expression as "-m NAME OPTIONS".
func xtMatchSave(fam nftables.TableFamily, m *expr.Match, setName func(uint16) string) (savedMatch, bool) {
	v6 := fam == nftables.TableFamilyIPv6
	raw := func() []byte {
		if u, ok := m.Info.(*xt.Unknown); ok {
			return []byte(*u)
		}
		return nil
	}
	var (
		opts string
		ok   bool
		name = m.Name
	)
	switch info := m.Info.(type) {
	case *xt.Tcp:
		return savedMatch{tcp: info}, true
	case *xt.Udp:
		return savedMatch{tcp: &xt.Tcp{SrcPorts: info.SrcPorts, DstPorts: info.DstPorts, InvFlags: xt.TcpInvFlagset(info.InvFlags)}}, true
	case *xt.Comment:
		opts, ok = " --comment "+saveString(string(*info)), true
	case *xt.ConntrackMtinfo3:
		name, opts = conntrackWords(conntrackOf(&info.ConntrackMtinfoBase, info.StateMask, info.StatusMask, &info.ConntrackMtinfo2, info))
		ok = true
	case *xt.ConntrackMtinfo2:
		name, opts = conntrackWords(conntrackOf(&info.ConntrackMtinfoBase, info.StateMask, info.StatusMask, info, nil))
		ok = true
	case *xt.ConntrackMtinfo1:
		name, opts = conntrackWords(conntrackOf(&info.ConntrackMtinfoBase, uint16(info.StateMask), uint16(info.StatusMask), nil, nil))
		ok = true
	default:
		b := raw()
		switch m.Name {
		case "multiport":
			if m.Rev == 1 {
				opts, ok = xtMultiport(b)
			}
		case "connlimit":
			opts, ok = xtConnlimit(b, v6)
		case "owner":
			if m.Rev == 1 {
				opts, ok = xtOwner(b)
			}
		case "mark":
			if m.Rev == 1 {
				opts, ok = xtMark(b)
			}
		case "hashlimit":
			opts, ok = xtHashlimit(b, m.Rev, v6)
		case "limit":
			opts, ok = xtLimit(b)
		case "set":
			opts, ok = xtSet(b, m.Rev, setName)
		case "icmp":
			opts, ok = xtIcmp(b)
		case "comment":
			opts, ok = " --comment "+saveString(string(trimNul(b))), true
		}
	}
	if !ok {
		return savedMatch{}, false
	}
	return savedMatch{words: "-m " + name + opts}, true
}

func conntrackOf(b *xt.ConntrackMtinfoBase, state, status uint16, _ *xt.ConntrackMtinfo2, v3 *xt.ConntrackMtinfo3) conntrackInfo {
	ci := conntrackInfo{matchFlags: b.MatchFlags, invertFlags: b.InvertFlags, stateMask: state, statusMask: status,
		l4proto: b.L4Proto, expires: [2]uint32{b.ExpiresMin, b.ExpiresMax}}
	pf := func(a []byte, m []byte) netip.Prefix {
		addr, ok := netip.AddrFromSlice(a)
		if !ok {
			return netip.Prefix{}
		}
		addr = addr.Unmap()
		bits := ones(m)
		if addr.Is4() && len(m) == 16 {
			bits = ones(m[:4])
		}
		return netip.PrefixFrom(addr, bits)
	}
	ci.origSrc, ci.origDst = pf(b.OrigSrcAddr, b.OrigSrcMask), pf(b.OrigDstAddr, b.OrigDstMask)
	ci.replSrc, ci.replDst = pf(b.ReplSrcAddr, b.ReplSrcMask), pf(b.ReplDstAddr, b.ReplDstMask)
	// The library reads the ports (__be16 in the kernel) as their values.
	ci.ports = [4][2]uint16{{b.OrigSrcPort, 0}, {b.OrigDstPort, 0}, {b.ReplSrcPort, 0}, {b.ReplDstPort, 0}}
	if v3 != nil {
		ci.ports[0][1], ci.ports[1][1], ci.ports[2][1], ci.ports[3][1] = v3.OrigSrcPortHigh, v3.OrigDstPortHigh, v3.ReplSrcPortHigh, v3.ReplDstPortHigh
	}
	return ci
}

// xtTargetSave renders an xt target expression as "-j NAME OPTIONS".
func xtTargetSave(fam nftables.TableFamily, t *expr.Target) (string, bool) {
	v6 := fam == nftables.TableFamilyIPv6
	raw := func() []byte {
		if u, ok := t.Info.(*xt.Unknown); ok {
			return []byte(*u)
		}
		return nil
	}
	switch t.Name {
	case "REJECT":
		b := raw()
		if len(b) < 4 {
			return "", false
		}
		return "-j REJECT --reject-with " + rejectWith(ne.Uint32(b), v6), true
	case "MARK":
		b := raw()
		if t.Rev != 2 || len(b) < 8 {
			return "", false
		}
		return fmt.Sprintf("-j MARK --set-xmark 0x%x/0x%x", ne.Uint32(b), ne.Uint32(b[4:])), true
	case "DNAT", "SNAT", "MASQUERADE", "REDIRECT":
		var r natRange
		switch info := t.Info.(type) {
		case *xt.NatIPv4MultiRangeCompat:
			if len(*info) != 1 {
				return "", false
			}
			x := (*info)[0]
			r = natRange{flags: x.Flags, minIP: x.MinIP, maxIP: x.MaxIP, minPort: x.MinPort, maxPort: x.MaxPort}
		case *xt.NatRange:
			r = natRange{flags: info.Flags, minIP: info.MinIP, maxIP: info.MaxIP, minPort: info.MinPort, maxPort: info.MaxPort}
		case *xt.NatRange2:
			r = natRange{flags: info.Flags, minIP: info.MinIP, maxIP: info.MaxIP, minPort: info.MinPort, maxPort: info.MaxPort, base: info.BasePort}
		default:
			return "", false
		}
		return "-j " + t.Name + natWords(t.Name, r, v6), true
	}
	if u, ok := t.Info.(*xt.Unknown); ok && len(*u) == 0 {
		return "-j " + t.Name, true
	}
	return "", false
}

type natRange struct {
	flags            uint
	minIP, maxIP     []byte
	minPort, maxPort uint16
	base             uint16
}

// natWords is libxt_DNAT/SNAT/MASQUERADE/REDIRECT's save: --to-destination,
// --to-source or --to-ports, then --random, --persistent, --random-fully.
func natWords(name string, r natRange, v6 bool) string {
	const (
		mapIPs, protoSpecified, random, persistent, randomFully, protoOffset = 1, 2, 4, 8, 16, 32
	)
	var s strings.Builder
	ports := func() {
		fmt.Fprintf(&s, "%d", r.minPort)
		if r.maxPort != r.minPort {
			fmt.Fprintf(&s, "-%d", r.maxPort)
		}
		if r.flags&protoOffset != 0 {
			fmt.Fprintf(&s, "/%d", r.base)
		}
	}
	switch name {
	case "MASQUERADE", "REDIRECT":
		if r.flags&protoSpecified != 0 {
			s.WriteString(" --to-ports ")
			ports()
		}
	default:
		if r.flags&(mapIPs|protoSpecified) != 0 {
			opt := " --to-destination "
			if name == "SNAT" {
				opt = " --to-source "
			}
			s.WriteString(opt)
			brackets := v6 && r.flags&protoSpecified != 0
			if r.flags&mapIPs != 0 {
				if brackets {
					s.WriteByte('[')
				}
				lo, _ := netip.AddrFromSlice(r.minIP)
				hi, _ := netip.AddrFromSlice(r.maxIP)
				if !v6 {
					lo, hi = lo.Unmap(), hi.Unmap()
				}
				s.WriteString(lo.String())
				if hi != lo {
					s.WriteString("-" + hi.String())
				}
				if brackets {
					s.WriteByte(']')
				}
			}
			if r.flags&protoSpecified != 0 {
				s.WriteByte(':')
				ports()
			}
		}
	}
	if r.flags&random != 0 {
		s.WriteString(" --random")
	}
	if r.flags&persistent != 0 && name != "MASQUERADE" {
		s.WriteString(" --persistent")
	}
	if r.flags&randomFully != 0 {
		s.WriteString(" --random-fully")
	}
	return s.String()
}

// IpsetName asks the kernel's ipset for the name of the set with this index, as
// iptables-save does (getsockopt SO_IP_SET, IP_SET_OP_GET_BYINDEX); "" when it cannot.
func IpsetName(index uint16) string {
	const (
		soIPSet         = 83 // SO_IP_SET
		opGetByIndex    = 7  // IP_SET_OP_GET_BYINDEX
		protocolVersion = 6  // IPSET_PROTOCOL_MIN
	)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	// struct ip_set_req_get_set: op, version (u32), union { char name[32]; u16 index; }.
	buf := make([]byte, 8+32)
	binary.NativeEndian.PutUint32(buf, opGetByIndex)
	binary.NativeEndian.PutUint32(buf[4:], protocolVersion)
	binary.NativeEndian.PutUint16(buf[8:], index)
	size := uint32(len(buf))
	if err := getsockopt(fd, unix.IPPROTO_IP, soIPSet, unsafe.Pointer(&buf[0]), &size); err != nil {
		return ""
	}
	return string(trimNul(buf[8:]))
}

func getsockopt(fd, level, opt int, p unsafe.Pointer, size *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(size)), 0)
	if e != 0 {
		return e
	}
	return nil
}
