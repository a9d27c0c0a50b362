package nftwords

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
)

// Nft renders a rule's matches and its verdict in nft(8)'s words, for the
// expressions that decide what happens to a connect ("meta l4proto tcp th dport 443
// meta skuid 0", "reject with icmp net-unreachable"). Expressions it does not know are
// named by their type, so a rule never reads as matching less than it does.
func Nft(fam nftables.TableFamily, exprs []expr.Any) (match, verdict string) {
	match, verdict = describeExprs(fam, exprs)
	return nftWords(match), verdict
}

func describeExprs(fam nftables.TableFamily, exprs []expr.Any) (match, verdict string) {
	var parts []string
	regs := map[uint32]string{} // what each register holds: "th dport", "meta skuid", …
	masked := map[uint32][]byte{}
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			if !e.SourceRegister {
				regs[e.Register] = "meta " + metaName(e.Key)
			}
		case *expr.Payload:
			if e.OperationType == expr.PayloadLoad {
				regs[e.DestRegister] = payloadName(fam, e.Base, e.Offset, e.Len)
			}
		case *expr.Ct:
			if !e.SourceRegister {
				regs[e.Register] = "ct " + ctName(e.Key)
			}
		case *expr.Bitwise:
			regs[e.DestRegister] = regs[e.SourceRegister]
			masked[e.DestRegister] = e.Mask
		case *expr.Cmp:
			what := regs[e.Register]
			parts = append(parts, strings.TrimSpace(what+" "+cmpOp(e.Op)+valueOf(what, e.Data, masked[e.Register])))
		case *expr.Range:
			parts = append(parts, fmt.Sprintf("%s %s%s-%s", regs[e.Register], cmpOp(e.Op), valueOf(regs[e.Register], e.FromData, nil), valueOf(regs[e.Register], e.ToData, nil)))
		case *expr.Lookup:
			not := ""
			if e.Invert {
				not = "!= "
			}
			parts = append(parts, fmt.Sprintf("%s %s@%s", regs[e.SourceRegister], not, e.SetName))
		case *expr.Match:
			parts = append(parts, xtMatch(e))
		case *expr.Limit:
			parts = append(parts, fmt.Sprintf("limit rate %d/%s", e.Rate, limitUnit(e.Unit)))
		case *expr.Counter, *expr.Immediate:
		case *expr.Reject:
			return strings.Join(parts, " "), rejectWords(e)
		case *expr.Verdict:
			v := netstate.VerdictName(e.Kind)
			if e.Chain != "" {
				v += " " + e.Chain
			}
			return strings.Join(parts, " "), v
		case *expr.Target:
			return strings.Join(parts, " "), xtTarget(fam, e)
		default:
			parts = append(parts, strings.TrimPrefix(fmt.Sprintf("%T", e), "*expr."))
		}
	}
	return strings.Join(parts, " "), netstate.RuleAction(exprs)
}

// nftWords writes what nft(8) lists shorter: "meta l4proto tcp th dport 443" as "tcp
// dport 443".
func nftWords(m string) string {
	for _, p := range []string{"tcp", "udp"} {
		for _, f := range []string{"dport", "sport"} {
			m = strings.ReplaceAll(m, "meta l4proto "+p+" th "+f, p+" "+f)
		}
	}
	return m
}

func metaName(k expr.MetaKey) string {
	switch k {
	case expr.MetaKeyL4PROTO:
		return "l4proto"
	case expr.MetaKeyNFPROTO:
		return "nfproto"
	case expr.MetaKeySKUID:
		return "skuid"
	case expr.MetaKeySKGID:
		return "skgid"
	case expr.MetaKeyMARK:
		return "mark"
	case expr.MetaKeyOIFNAME:
		return "oifname"
	case expr.MetaKeyIIFNAME:
		return "iifname"
	case expr.MetaKeyOIF:
		return "oif"
	case expr.MetaKeyIIF:
		return "iif"
	case expr.MetaKeyCGROUP:
		return "cgroup"
	}
	return fmt.Sprintf("key-%d", k)
}

func ctName(k expr.CtKey) string {
	switch k {
	case expr.CtKeySTATE:
		return "state"
	case expr.CtKeyMARK:
		return "mark"
	case expr.CtKeySTATUS:
		return "status"
	}
	return fmt.Sprintf("key-%d", k)
}

// payloadName names the header field a payload load reads.
func payloadName(fam nftables.TableFamily, base expr.PayloadBase, off, n uint32) string {
	switch base {
	case expr.PayloadBaseTransportHeader:
		switch {
		case off == 0 && n == 2:
			return "th sport"
		case off == 2 && n == 2:
			return "th dport"
		}
	case expr.PayloadBaseNetworkHeader:
		v6 := fam == nftables.TableFamilyIPv6
		switch {
		case !v6 && off == 12 && n == 4:
			return "ip saddr"
		case !v6 && off == 16 && n == 4:
			return "ip daddr"
		case !v6 && off == 9 && n == 1:
			return "ip protocol"
		case off == 8 && n == 16:
			return "ip6 saddr"
		case off == 24 && n == 16:
			return "ip6 daddr"
		}
	}
	return fmt.Sprintf("payload base %d offset %d len %d", base, off, n)
}

func cmpOp(op expr.CmpOp) string {
	switch op {
	case expr.CmpOpNeq:
		return "!= "
	case expr.CmpOpLt:
		return "< "
	case expr.CmpOpLte:
		return "<= "
	case expr.CmpOpGt:
		return "> "
	case expr.CmpOpGte:
		return ">= "
	}
	return ""
}

// valueOf renders compared data the way the field is written: ports as numbers, protocols
// by name, addresses as addresses (with the mask's prefix length), uids as numbers.
func valueOf(what string, b, mask []byte) string {
	switch {
	case strings.HasSuffix(what, "port") && len(b) == 2:
		return fmt.Sprint(binary.BigEndian.Uint16(b))
	case what == "meta l4proto" || what == "ip protocol":
		if len(b) == 1 {
			return protoName(b[0])
		}
	case strings.HasSuffix(what, "addr"):
		if a, ok := netip.AddrFromSlice(b); ok {
			if len(mask) == len(b) {
				return netip.PrefixFrom(a, ones(mask)).String()
			}
			return a.String()
		}
	case what == "meta skuid" || what == "meta skgid" || what == "meta mark" || what == "ct mark":
		if len(b) == 4 {
			return fmt.Sprint(binary.NativeEndian.Uint32(b))
		}
	case strings.HasSuffix(what, "ifname"):
		return strings.TrimRight(string(b), "\x00")
	}
	return fmt.Sprintf("0x%x", b)
}

// protoName is a protocol as nft names it: /etc/protocols' name, but icmpv6.
func protoName(p byte) string {
	if p == unix.IPPROTO_ICMPV6 {
		return "icmpv6"
	}
	return netstate.IPProtoName(p)
}

func limitUnit(u expr.LimitTime) string {
	return map[expr.LimitTime]string{expr.LimitTimeSecond: "second", expr.LimitTimeMinute: "minute", expr.LimitTimeHour: "hour", expr.LimitTimeDay: "day"}[u]
}

// rejectWords: nft's reject statement, with the ICMP code a connect turns into an errno.
func rejectWords(r *expr.Reject) string {
	switch r.Type {
	case unix.NFT_REJECT_TCP_RST:
		return "reject with tcp reset"
	case unix.NFT_REJECT_ICMPX_UNREACH:
		return "reject with icmpx " + map[uint8]string{0: "no-route", 1: "port-unreachable", 2: "host-unreachable", 3: "admin-prohibited"}[r.Code]
	}
	return fmt.Sprintf("reject with icmp code %d", r.Code)
}

// xtMatch names an iptables-nft match, with the fields that decide a connect.
func xtMatch(m *expr.Match) string {
	switch info := m.Info.(type) {
	case *xt.Tcp:
		return fmt.Sprintf("tcp dport %d-%d", info.DstPorts[0], info.DstPorts[1])
	case *xt.Udp:
		return fmt.Sprintf("udp dport %d-%d", info.DstPorts[0], info.DstPorts[1])
	case *xt.Unknown:
		// xt_owner_match_info: uid_min, uid_max, gid_min, gid_max, match, invert.
		if m.Name == "owner" && len(*info) >= 18 {
			b := []byte(*info)
			lo, hi := binary.NativeEndian.Uint32(b[0:]), binary.NativeEndian.Uint32(b[4:])
			if b[16]&1 != 0 { // XT_OWNER_UID
				not := ""
				if b[17]&1 != 0 {
					not = "!= "
				}
				if lo == hi {
					return fmt.Sprintf("meta skuid %s%d", not, lo)
				}
				return fmt.Sprintf("meta skuid %s%d-%d", not, lo, hi)
			}
		}
	}
	return "xt match " + m.Name
}

// xtTarget names an iptables-nft target; REJECT with its --reject-with type.
func xtTarget(fam nftables.TableFamily, t *expr.Target) string {
	if u, ok := t.Info.(*xt.Unknown); ok && t.Name == "REJECT" && len(*u) >= 4 {
		with := binary.NativeEndian.Uint32([]byte(*u))
		v4 := []string{"icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable", "icmp-port-unreachable",
			"icmp-echo-reply", "icmp-net-prohibited", "icmp-host-prohibited", "tcp-reset", "icmp-admin-prohibited"}
		v6 := []string{"icmp6-no-route", "icmp6-adm-prohibited", "icmp6-not-neighbour", "icmp6-addr-unreachable",
			"icmp6-port-unreachable", "icmp6-echo-reply", "tcp-reset", "icmp6-policy-fail", "icmp6-reject-route"}
		names := v4
		if fam == nftables.TableFamilyIPv6 {
			names = v6
		}
		if int(with) < len(names) {
			return "REJECT --reject-with " + names[with]
		}
	}
	return t.Name
}
