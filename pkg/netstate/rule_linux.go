package netstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"
)

// fib_rule_hdr is 12 bytes: family, dst_len, src_len, tos, table, res1, res2, action, flags(u32).
const ruleHdrLen = 12

// Attribute types of <linux/fib_rules.h>.
const (
	fraDst               = 1
	fraSrc               = 2
	fraIifname           = 3
	fraGoto              = 4
	fraPriority          = 6
	fraFwmark            = 10
	fraFlow              = 11
	fraTunID             = 12
	fraSuppressIfgroup   = 13
	fraSuppressPrefixlen = 14
	fraTable             = 15
	fraFwmask            = 16
	fraOifname           = 17
	fraL3mdev            = 19
	fraUIDRange          = 20
	fraProtocol          = 21
	fraIPProto           = 22
	fraSportRange        = 23
	fraDportRange        = 24

	fibRuleInvert = 0x2
)

var actionNames = map[uint8]string{
	1: "lookup", 2: "goto", 3: "nop", 6: "blackhole", 7: "unreachable", 8: "prohibit",
}

var errShort = errors.New("message too short")

// ParseRule decodes one RTM_NEWRULE payload (the bytes after the netlink header). It is
// written against the kernel's layout rather than a library's so that the action, l3mdev
// and every selector survive, and so malformed input is an error, never a panic.
func ParseRule(b []byte) (Rule, error) {
	if len(b) < ruleHdrLen {
		return Rule{}, fmt.Errorf("rule header: %w (%d bytes)", errShort, len(b))
	}
	ne := binary.NativeEndian
	fam, dstLen, srcLen, tos, table, action := b[0], b[1], b[2], b[3], b[4], b[7]
	flags := ne.Uint32(b[8:12])
	r := Rule{Family: "ipv4", From: "all", Tos: int(tos), Not: flags&fibRuleInvert != 0, Table: tableName(uint32(table))}
	if fam == unix.AF_INET6 {
		r.Family = "ipv6"
	} else if fam != unix.AF_INET {
		return Rule{}, fmt.Errorf("rule family %d is neither AF_INET nor AF_INET6", fam)
	}
	if n, ok := actionNames[action]; ok {
		r.Action = n
	} else {
		r.Action = fmt.Sprintf("action%d", action)
	}
	if r.Action != "lookup" {
		r.Table = ""
	}
	var mark, mask uint32
	hasMark, hasMask := false, false
	err := walkAttrs(b[ruleHdrLen:], func(typ uint16, v []byte) error {
		u32 := func() (uint32, error) {
			if len(v) < 4 {
				return 0, fmt.Errorf("attribute %d: %w", typ, errShort)
			}
			return ne.Uint32(v), nil
		}
		var err error
		var x uint32
		switch typ {
		case fraSrc, fraDst:
			var p string
			bits := srcLen
			if typ == fraDst {
				bits = dstLen
			}
			if p, err = prefix(v, bits); err == nil {
				if typ == fraSrc {
					r.From = p
				} else {
					r.To = p
				}
			}
		case fraIifname:
			r.Iif = cstring(v)
		case fraOifname:
			r.Oif = cstring(v)
		case fraGoto:
			x, err = u32()
			r.Goto = int(x)
		case fraPriority:
			x, err = u32()
			r.Priority = int(x)
		case fraFwmark:
			mark, err = u32()
			hasMark = true
		case fraFwmask:
			mask, err = u32()
			hasMask = true
		case fraFlow:
			r.Realms, err = u32()
		case fraTunID:
			if len(v) < 8 {
				return fmt.Errorf("tun_id: %w", errShort)
			}
			r.TunID = binary.BigEndian.Uint64(v)
		case fraSuppressIfgroup:
			if x, err = u32(); err == nil && x != 0xffffffff {
				n := int(x)
				r.SuppressIfgroup = &n
			}
		case fraSuppressPrefixlen:
			if x, err = u32(); err == nil && x != 0xffffffff {
				n := int(x)
				r.SuppressPrefixlen = &n
			}
		case fraTable:
			if x, err = u32(); err == nil && r.Action == "lookup" {
				r.Table = tableName(x)
			}
		case fraL3mdev:
			r.L3mdev = len(v) > 0 && v[0] != 0
		case fraUIDRange:
			if len(v) < 8 {
				return fmt.Errorf("uidrange: %w", errShort)
			}
			r.UIDRange = fmt.Sprintf("%d-%d", ne.Uint32(v), ne.Uint32(v[4:]))
		case fraProtocol:
			if len(v) > 0 {
				r.Protocol = ProtoName(int(v[0]))
			}
		case fraIPProto:
			if len(v) > 0 {
				r.IPProto = IPProtoName(v[0])
			}
		case fraSportRange, fraDportRange:
			if len(v) < 4 {
				return fmt.Errorf("port range: %w", errShort)
			}
			pr := portRange(ne.Uint16(v), ne.Uint16(v[2:]))
			if typ == fraSportRange {
				r.Sport = pr
			} else {
				r.Dport = pr
			}
		}
		return err
	})
	if err != nil {
		return Rule{}, err
	}
	switch {
	case hasMark && hasMask && mask != 0xffffffff:
		r.Fwmark = fmt.Sprintf("%#x/%#x", mark, mask)
	case hasMark && (mark != 0 || hasMask):
		r.Fwmark = fmt.Sprintf("%#x", mark)
	}
	if r.L3mdev && r.Table == "unspec" {
		r.Table = ""
	}
	return r, nil
}

// walkAttrs iterates netlink attributes (struct nlattr: u16 len, u16 type, value, padded
// to 4 bytes), rejecting lengths that run past the buffer.
func walkAttrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & 0x3fff // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
		if l < unix.SizeofRtAttr || l > len(b) {
			return fmt.Errorf("attribute %d: length %d outside the %d bytes left", typ, l, len(b))
		}
		if err := fn(typ, b[unix.SizeofRtAttr:l]); err != nil {
			return err
		}
		l = (l + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if l > len(b) {
			return nil
		}
		b = b[l:]
	}
	return nil
}

// ParseDump decodes a whole RTM_GETRULE dump as the kernel sends it (netlink headers
// included), the form the fixtures are stored in. It stops at NLMSG_DONE.
func ParseDump(b []byte) ([]Rule, error) {
	var out []Rule
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return out, fmt.Errorf("netlink message length %d outside the %d bytes left", l, len(b))
		}
		switch typ {
		case unix.NLMSG_DONE:
			return out, nil
		case unix.NLMSG_ERROR:
			return out, errors.New("netlink error message in dump")
		case unix.RTM_NEWRULE:
			r, err := ParseRule(b[unix.SizeofNlMsghdr:l])
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
		l = (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return out, nil
}

func prefix(v []byte, bits uint8) (string, error) {
	if len(v) != 4 && len(v) != 16 {
		return "", fmt.Errorf("address of %d bytes", len(v))
	}
	if int(bits) > 8*len(v) {
		return "", fmt.Errorf("prefix length %d longer than the address", bits)
	}
	ip := net.IP(append([]byte(nil), v...))
	if int(bits) == 8*len(v) {
		return ip.String(), nil
	}
	return (&net.IPNet{IP: ip, Mask: net.CIDRMask(int(bits), 8*len(v))}).String(), nil
}

func cstring(v []byte) string {
	if i := strings.IndexByte(string(v), 0); i >= 0 {
		v = v[:i]
	}
	return string(v)
}

func portRange(lo, hi uint16) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// IPProtoName is an IP protocol number as /etc/protocols names it, and so as `ip rule`
// and iptables-save print it ("tcp", "ipv6-icmp"); an unknown one as its number.
func IPProtoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_ICMP:
		return "icmp"
	case unix.IPPROTO_ICMPV6:
		return "ipv6-icmp"
	case unix.IPPROTO_SCTP:
		return "sctp"
	case unix.IPPROTO_UDPLITE:
		return "udplite"
	case unix.IPPROTO_ESP:
		return "esp"
	case unix.IPPROTO_AH:
		return "ah"
	case unix.IPPROTO_GRE:
		return "gre"
	}
	return fmt.Sprint(p)
}

func tableName(t uint32) string { return TableName(int(t)) }
