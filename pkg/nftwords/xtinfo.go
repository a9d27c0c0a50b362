package nftwords

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// The info structs of the xtables extensions iptables-nft hands to the kernel as `xt`
// match and target expressions, decoded as iptables-save prints them. Each decoder reads
// the struct of include/uapi/linux/netfilter/xt_<name>.h on 64-bit Linux (host byte
// order for the u32/u64 fields, network order where the header says __be16) and returns
// the options after "-m NAME" / "-j NAME", each with its leading space; ok=false when the
// bytes are too short for the struct.

var ne = binary.NativeEndian

// xtMultiport decodes struct xt_multiport_v1 (revision 1): flags, count, ports[15],
// pflags[15] (a port that starts a range), invert.
func xtMultiport(b []byte) (string, bool) {
	if len(b) < 48 {
		return "", false
	}
	flags, count := b[0], int(b[1])
	if count > 15 {
		return "", false
	}
	var ports []string
	for i := 0; i < count; i++ {
		p := ne.Uint16(b[2+2*i:])
		if b[32+i] != 0 && i+1 < count {
			ports = append(ports, fmt.Sprintf("%d:%d", p, ne.Uint16(b[2+2*(i+1):])))
			i++
			continue
		}
		ports = append(ports, fmt.Sprint(p))
	}
	opt := map[byte]string{0: "--sports", 1: "--dports", 2: "--ports"}[flags]
	if opt == "" {
		return "", false
	}
	not := ""
	if b[47] != 0 {
		not = " !"
	}
	return not + " " + opt + " " + strings.Join(ports, ","), true
}

// xtConnlimit decodes struct xt_connlimit_info (revision 1): the mask (union
// nf_inet_addr, 16 bytes), limit (u32), flags (u32: XT_CONNLIMIT_INVERT 1, _DADDR 2).
func xtConnlimit(b []byte, v6 bool) (string, bool) {
	if len(b) < 24 {
		return "", false
	}
	mask := b[:4]
	if v6 {
		mask = b[:16]
	}
	limit, flags := ne.Uint32(b[16:]), ne.Uint32(b[20:])
	s := fmt.Sprintf(" --connlimit-above %d", limit)
	if flags&1 != 0 {
		s = fmt.Sprintf(" --connlimit-upto %d", limit)
	}
	s += fmt.Sprintf(" --connlimit-mask %d", ones(mask))
	if flags&2 != 0 {
		return s + " --connlimit-daddr", true
	}
	return s + " --connlimit-saddr", true
}

// xtOwner decodes struct xt_owner_match_info (revision 1): uid_min, uid_max, gid_min,
// gid_max (u32), match, invert (u8: XT_OWNER_UID 1, _GID 2, _SOCKET 4, _SUPPL_GROUPS 8).
func xtOwner(b []byte) (string, bool) {
	if len(b) < 18 {
		return "", false
	}
	match, invert := b[16], b[17]
	var s strings.Builder
	item := func(bit byte, opt string, lo, hi uint32, arg bool) {
		if match&bit == 0 {
			return
		}
		if invert&bit != 0 {
			s.WriteString(" !")
		}
		s.WriteString(" " + opt)
		if !arg {
			return
		}
		if lo == hi {
			fmt.Fprintf(&s, " %d", lo)
		} else {
			fmt.Fprintf(&s, " %d-%d", lo, hi)
		}
	}
	item(4, "--socket-exists", 0, 0, false)
	item(1, "--uid-owner", ne.Uint32(b[0:]), ne.Uint32(b[4:]), true)
	item(2, "--gid-owner", ne.Uint32(b[8:]), ne.Uint32(b[12:]), true)
	item(8, "--suppl-groups", 0, 0, false)
	return s.String(), true
}

// xtMark decodes struct xt_mark_mtinfo1: mark, mask (u32), invert (u8).
func xtMark(b []byte) (string, bool) {
	if len(b) < 9 {
		return "", false
	}
	not := ""
	if b[8] != 0 {
		not = " !"
	}
	return not + " --mark " + markMask(ne.Uint32(b), ne.Uint32(b[4:])), true
}

func markMask(mark, mask uint32) string {
	if mask == 0xffffffff {
		return fmt.Sprintf("0x%x", mark)
	}
	return fmt.Sprintf("0x%x/0x%x", mark, mask)
}

// rateUnits are iptables' rate units, largest first, in seconds.
var rateUnits = []struct {
	name string
	secs uint64
}{{"day", 86400}, {"hour", 3600}, {"min", 60}, {"sec", 1}}

// printRate is libxt_limit/libxt_hashlimit's print_rate: avg is the mean time between
// packets in 1/scale seconds; the unit is the largest that divides it into a whole
// rate. It returns the rate ("10/sec") and the unit's length in milliseconds.
func printRate(avg, scale uint64) (string, uint64) {
	if avg == 0 {
		return "inf", 0
	}
	i := 1
	for ; i < len(rateUnits); i++ {
		mult := rateUnits[i].secs * scale
		if avg > mult || mult/avg < mult%avg {
			break
		}
	}
	u := rateUnits[i-1]
	return fmt.Sprintf("%d/%s", u.secs*scale/avg, u.name), u.secs * 1000
}

// limitAvg is the avg iptables-nft derives from an nftables limit (rate per unit).
func limitAvg(rate, unitSecs uint64) uint64 {
	if rate == 0 {
		return 0
	}
	return 10000 * unitSecs / rate // XT_LIMIT_SCALE
}

// xtHashlimit decodes struct xt_hashlimit_mtinfo1..3: name[IFNAMSIZ] then struct
// hashlimit_cfg1 (mode, avg, burst, size, max, gc_interval, expire: u32; srcmask,
// dstmask: u8), or from revision 2 name[NAME_MAX] then, 8-aligned at 256,
// hashlimit_cfg2/3 (avg, burst: u64; mode, size, max, gc_interval, expire[, interval]:
// u32; srcmask, dstmask: u8).
func xtHashlimit(b []byte, rev uint32, v6 bool) (string, bool) {
	var (
		avg, burst                        uint64
		mode, size, max, gc, expire, ival uint32
		srcmask, dstmask                  byte
		scale                             uint64 = 1000000 // XT_HASHLIMIT_SCALE_v2
	)
	var name string
	switch rev {
	case 1:
		if len(b) < 16+30 {
			return "", false
		}
		name = string(trimNul(b[:16]))
		c := b[16:]
		mode, avg, burst = ne.Uint32(c), uint64(ne.Uint32(c[4:])), uint64(ne.Uint32(c[8:]))
		size, max, gc, expire = ne.Uint32(c[12:]), ne.Uint32(c[16:]), ne.Uint32(c[20:]), ne.Uint32(c[24:])
		srcmask, dstmask = c[28], c[29]
		scale = 10000 // XT_HASHLIMIT_SCALE
	case 2, 3:
		if len(b) < 256+42 {
			return "", false
		}
		name = string(trimNul(b[:255]))
		c := b[256:]
		avg, burst = ne.Uint64(c), ne.Uint64(c[8:])
		mode, size, max, gc, expire = ne.Uint32(c[16:]), ne.Uint32(c[20:]), ne.Uint32(c[24:]), ne.Uint32(c[28:]), ne.Uint32(c[32:])
		m := c[36:]
		if rev == 3 {
			ival, m = ne.Uint32(c[36:]), c[40:]
		}
		srcmask, dstmask = m[0], m[1]
	default:
		return "", false
	}
	var s strings.Builder
	if mode&0x10 != 0 { // XT_HASHLIMIT_INVERT
		s.WriteString(" --hashlimit-above")
	} else {
		s.WriteString(" --hashlimit-upto")
	}
	var quantum uint64
	if mode&0x20 != 0 { // XT_HASHLIMIT_BYTES: rare; named, not decoded
		s.WriteString(" (bytes)")
	} else {
		var r string
		r, quantum = printRate(avg, scale)
		fmt.Fprintf(&s, " %s --hashlimit-burst %d", r, burst)
	}
	if mode&0xf != 0 {
		var m []string
		for _, x := range []struct {
			bit  uint32
			name string
		}{{4, "srcip"}, {8, "srcport"}, {1, "dstip"}, {2, "dstport"}} {
			if mode&x.bit != 0 {
				m = append(m, x.name)
			}
		}
		s.WriteString(" --hashlimit-mode " + strings.Join(m, ","))
	}
	s.WriteString(" --hashlimit-name " + name)
	if size != 0 {
		fmt.Fprintf(&s, " --hashlimit-htable-size %d", size)
	}
	if max != 0 {
		fmt.Fprintf(&s, " --hashlimit-htable-max %d", max)
	}
	if gc != 1000 {
		fmt.Fprintf(&s, " --hashlimit-htable-gcinterval %d", gc)
	}
	if uint64(expire) != quantum {
		fmt.Fprintf(&s, " --hashlimit-htable-expire %d", expire)
	}
	dmask := byte(32)
	if v6 {
		dmask = 128
	}
	if rev > 1 {
		if srcmask != dmask {
			fmt.Fprintf(&s, " --hashlimit-srcmask %d", srcmask)
		}
		if dstmask != dmask {
			fmt.Fprintf(&s, " --hashlimit-dstmask %d", dstmask)
		}
	}
	if rev == 3 && mode&0x40 != 0 {
		s.WriteString(" --hashlimit-rate-match")
		if ival != 1 {
			fmt.Fprintf(&s, " --hashlimit-rate-interval %d", ival)
		}
	}
	return s.String(), true
}

// xtLimit decodes struct xt_rateinfo: avg, burst (u32), as libxt_limit saves it.
func xtLimit(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	return limitWords(uint64(ne.Uint32(b)), ne.Uint32(b[4:])), true
}

func limitWords(avg uint64, burst uint32) string {
	r, _ := printRate(avg, 10000)
	s := " --limit " + r
	if burst != 5 { // XT_LIMIT_BURST
		s += fmt.Sprintf(" --limit-burst %d", burst)
	}
	return s
}

// xtSet decodes struct xt_set_info_match_v1..v4: struct xt_set_info (index u16, dim u8,
// flags u8: IPSET_INV_MATCH bit 0, bit i the source flag of dimension i), and from
// revision 3 the counters and flags (u32 at 40: IPSET_FLAG_RETURN_NOMATCH 1<<7,
// _SKIP_COUNTER_UPDATE 1<<8, _SKIP_SUBCOUNTER_UPDATE 1<<9). setName names a set by its
// index (iptables-save asks ipset the same way).
func xtSet(b []byte, rev uint32, setName func(uint16) string) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	index, dim, flags := ne.Uint16(b), int(b[2]), b[3]
	name := fmt.Sprintf("#%d", index)
	if setName != nil {
		if n := setName(index); n != "" {
			name = n
		}
	}
	var s strings.Builder
	if flags&1 != 0 {
		s.WriteString(" !")
	}
	s.WriteString(" --match-set " + name)
	for i := 1; i <= dim; i++ {
		sep := ","
		if i == 1 {
			sep = " "
		}
		dir := "dst"
		if flags&(1<<i) != 0 {
			dir = "src"
		}
		s.WriteString(sep + dir)
	}
	if rev >= 3 && len(b) >= 44 {
		f := ne.Uint32(b[40:])
		if f&(1<<7) != 0 {
			s.WriteString(" --return-nomatch")
		}
		if f&(1<<8) != 0 {
			s.WriteString(" ! --update-counters")
		}
		if f&(1<<9) != 0 {
			s.WriteString(" ! --update-subcounters")
		}
	}
	return s.String(), true
}

// xtIcmp decodes struct ipt_icmp: type, code[2], invflags.
func xtIcmp(b []byte) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	not := ""
	if b[3]&1 != 0 {
		not = " !"
	}
	if b[1] == 0 && b[2] == 0xff {
		return fmt.Sprintf("%s --icmp-type %d", not, b[0]), true
	}
	if b[1] == b[2] {
		return fmt.Sprintf("%s --icmp-type %d/%d", not, b[0], b[1]), true
	}
	return fmt.Sprintf("%s --icmp-type %d/%d", not, b[0], b[1]), true
}

// conntrack's state bits (XT_CONNTRACK_STATE_BIT) in iptables' order.
var ctStates = []struct {
	bit  uint16
	name string
}{{1 << 0, "INVALID"}, {1 << 3, "NEW"}, {1 << 2, "RELATED"}, {1 << 1, "ESTABLISHED"}, {1 << 10, "UNTRACKED"}, {1 << 8, "SNAT"}, {1 << 9, "DNAT"}}

func ctStateWords(mask uint16, alias bool) string {
	var out []string
	for _, s := range ctStates {
		if alias && (s.name == "SNAT" || s.name == "DNAT") {
			continue
		}
		if mask&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	return strings.Join(out, ",")
}

func ctStatusWords(mask uint16) string {
	var out []string
	for i, n := range []string{"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"} {
		if mask&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "NONE"
	}
	return strings.Join(out, ",")
}

// conntrackInfo is what iptables-save prints of struct xt_conntrack_mtinfo1..3.
type conntrackInfo struct {
	matchFlags, invertFlags uint16
	stateMask, statusMask   uint16
	l4proto                 uint16
	origSrc, origDst        netip.Prefix
	replSrc, replDst        netip.Prefix
	ports                   [4][2]uint16 // orig src, orig dst, repl src, repl dst: low, high
	expires                 [2]uint32
}

// conntrackWords renders the conntrack (or, with the state alias flag, the state) match:
// name "conntrack" or "state" and its options.
func conntrackWords(ci conntrackInfo) (name, opts string) {
	const (
		fState, fProto, fOrigSrc, fOrigDst, fReplSrc, fReplDst, fStatus, fExpires = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
		fOrigSrcPort, fOrigDstPort, fReplSrcPort, fReplDstPort, fDir, fAlias      = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13
	)
	var s strings.Builder
	not := func(bit uint16) {
		if ci.invertFlags&bit != 0 {
			s.WriteString(" !")
		}
	}
	if ci.matchFlags&fAlias != 0 {
		not(fState)
		return "state", s.String() + " --state " + ctStateWords(ci.stateMask, true)
	}
	if ci.matchFlags&fState != 0 {
		not(fState)
		s.WriteString(" --ctstate " + ctStateWords(ci.stateMask, false))
	}
	if ci.matchFlags&fProto != 0 {
		not(fProto)
		fmt.Fprintf(&s, " --ctproto %d", ci.l4proto)
	}
	for k, a := range []struct {
		bit uint16
		opt string
		p   netip.Prefix
	}{{fOrigSrc, "--ctorigsrc", ci.origSrc}, {fOrigDst, "--ctorigdst", ci.origDst}, {fReplSrc, "--ctreplsrc", ci.replSrc}, {fReplDst, "--ctrepldst", ci.replDst}} {
		_ = k
		if ci.matchFlags&a.bit != 0 {
			not(a.bit)
			s.WriteString(" " + a.opt + " " + a.p.Addr().String())
			if a.p.Bits() != a.p.Addr().BitLen() {
				fmt.Fprintf(&s, "/%d", a.p.Bits())
			}
		}
	}
	for k, opt := range []string{"--ctorigsrcport", "--ctorigdstport", "--ctreplsrcport", "--ctrepldstport"} {
		bit := uint16(fOrigSrcPort << k)
		if ci.matchFlags&bit == 0 {
			continue
		}
		not(bit)
		lo, hi := ci.ports[k][0], ci.ports[k][1]
		if hi == 0 || hi == lo {
			fmt.Fprintf(&s, " %s %d", opt, lo)
		} else {
			fmt.Fprintf(&s, " %s %d:%d", opt, lo, hi)
		}
	}
	if ci.matchFlags&fStatus != 0 {
		not(fStatus)
		s.WriteString(" --ctstatus " + ctStatusWords(ci.statusMask))
	}
	if ci.matchFlags&fExpires != 0 {
		not(fExpires)
		if ci.expires[0] == ci.expires[1] {
			fmt.Fprintf(&s, " --ctexpire %d", ci.expires[0])
		} else {
			fmt.Fprintf(&s, " --ctexpire %d:%d", ci.expires[0], ci.expires[1])
		}
	}
	if ci.matchFlags&fDir != 0 {
		if ci.invertFlags&fDir != 0 {
			s.WriteString(" --ctdir REPLY")
		} else {
			s.WriteString(" --ctdir ORIGINAL")
		}
	}
	return "conntrack", s.String()
}

// saveString quotes a string as xtables_save_string does: bare when it is only
// letters, digits, '_' and '-', else in double quotes with ", \ and ' escaped.
func saveString(v string) string {
	bare := v != ""
	for _, c := range v {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			bare = false
			break
		}
	}
	if bare {
		return v
	}
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range v {
		if c == '"' || c == '\\' || c == '\'' {
			s.WriteByte('\\')
		}
		s.WriteRune(c)
	}
	s.WriteByte('"')
	return s.String()
}

func trimNul(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// tcpFlagWords is libxt_tcp's print_tcpf: FIN,SYN,RST,PSH,ACK,URG, or NONE.
func tcpFlagWords(f uint8) string {
	var out []string
	for i, n := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "NONE"
	}
	return strings.Join(out, ",")
}

// rejectWith names REJECT's --reject-with (struct ipt_reject_info / ip6t_reject_info).
func rejectWith(with uint32, v6 bool) string {
	v4 := []string{"icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable", "icmp-port-unreachable",
		"icmp-echo-reply", "icmp-net-prohibited", "icmp-host-prohibited", "tcp-reset", "icmp-admin-prohibited"}
	v6n := []string{"icmp6-no-route", "icmp6-adm-prohibited", "icmp6-not-neighbour", "icmp6-addr-unreachable",
		"icmp6-port-unreachable", "icmp6-echo-reply", "tcp-reset", "icmp6-policy-fail", "icmp6-reject-route"}
	names := v4
	if v6 {
		names = v6n
	}
	if int(with) < len(names) {
		return names[with]
	}
	return fmt.Sprint(with)
}

// ones counts the set bits of a mask (a prefix length).
func ones(b []byte) int {
	n := 0
	for _, c := range b {
		for ; c != 0; c <<= 1 {
			if c&0x80 != 0 {
				n++
			}
		}
	}
	return n
}
