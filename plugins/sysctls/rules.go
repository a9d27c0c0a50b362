package sysctls

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// critical lists sysctls that change what a route lookup, a connect or a bind does, with
// why it matters. Patterns match path components ("*" is one component: an interface).
var critical = []struct{ pattern, why string }{
	{"net/ipv4/conf/*/rp_filter", "reverse-path filtering (1 strict, 2 loose) drops packets whose source would not be routed back the same way"},
	{"net/ipv4/ip_local_port_range", "the ephemeral port range bounds how many connects can be open to one destination"},
	{"net/ipv4/ip_local_reserved_ports", "reserved ports are skipped when connect picks a source port"},
	{"net/ipv6/conf/*/disable_ipv6", "with IPv6 disabled, AAAA answers and IPv6 connects fail (EADDRNOTAVAIL/ENETUNREACH)"},
	{"net/ipv4/tcp_syn_retries", "it sets how long a blocking connect waits before ETIMEDOUT"},
	{"net/ipv4/tcp_synack_retries", "it sets how long a half-open incoming connection is kept"},
	{"net/ipv6/conf/*/accept_ra", "router advertisements install (or not) IPv6 default routes"},
	{"net/ipv4/conf/*/forwarding", "forwarding changes how the namespace routes and answers"},
	{"net/ipv6/conf/*/forwarding", "IPv6 forwarding also disables accepting router advertisements"},
	{"net/ipv4/ip_forward", "forwarding changes how the namespace routes and answers"},
	{"net/ipv4/ip_nonlocal_bind", "binding to an address not on the host fails with EADDRNOTAVAIL unless it is set"},
	{"net/ipv6/ip_nonlocal_bind", "binding to an address not on the host fails with EADDRNOTAVAIL unless it is set"},
	{"net/ipv4/ip_unprivileged_port_start", "it decides which ports a process without NET_BIND_SERVICE may bind"},
	{"net/ipv4/ping_group_range", "it decides which groups may open unprivileged ICMP sockets (ping without NET_RAW)"},
	{"net/ipv4/ip_no_pmtu_disc", "path-MTU discovery settings decide whether large packets are fragmented or dropped"},
	{"net/ipv4/tcp_mtu_probing", "path-MTU discovery settings decide whether large packets are fragmented or dropped"},
	{"net/ipv4/conf/*/arp_ignore", "ARP replies decide whether neighbours can reach the address"},
	{"net/ipv4/conf/*/arp_announce", "ARP source selection decides whether neighbours answer"},
	{"net/ipv4/conf/*/proxy_arp", "proxy ARP changes which neighbours answer for a gateway"},
	{"net/ipv4/conf/*/route_localnet", "it allows routing 127.0.0.0/8 traffic off the loopback"},
	{"net/ipv4/conf/*/accept_local", "packets with a local source address are dropped unless it is set"},
	{"net/ipv4/conf/*/src_valid_mark", "the fwmark takes part in the reverse-path check only when it is set"},
	{"net/ipv4/conf/*/ignore_routes_with_linkdown", "routes over a link that is down are skipped when it is set"},
	{"net/ipv4/fwmark_reflect", "replies sent by the kernel carry the fwmark of the packet they answer"},
	{"net/ipv4/tcp_fwmark_accept", "accepted sockets inherit the fwmark of the incoming SYN"},
	{"net/ipv4/tcp_l3mdev_accept", "it decides whether sockets outside a VRF accept connections arriving through it"},
	{"net/ipv4/neigh/*/gc_stale_time", "neighbour entries age differently, which changes when ARP is re-resolved"},
	{"net/ipv4/neigh/*/base_reachable_time_ms", "neighbour entries age differently, which changes when ARP is re-resolved"},
	{"net/ipv4/neigh/*/ucast_solicit", "the number of ARP probes before a neighbour is declared FAILED (EHOSTUNREACH)"},
	{"net/ipv4/neigh/*/mcast_solicit", "the number of ARP probes before a neighbour is declared FAILED (EHOSTUNREACH)"},
	{"net/ipv4/tcp_tw_reuse", "reusing TIME-WAIT sockets decides whether rapid reconnects to one destination get EADDRNOTAVAIL"},
	{"net/ipv4/ip_default_ttl", "the TTL decides how many hops a packet may cross"},
	{"net/ipv6/conf/*/hop_limit", "the hop limit decides how many hops a packet may cross"},
	{"net/ipv6/conf/*/mtu", "the IPv6 MTU of the interface"},
	{"net/ipv4/tcp_ecn", "ECN negotiation can be black-holed by middleboxes"},
	{"net/ipv4/tcp_timestamps", "TCP timestamps interact with PAWS and NAT"},
	{"net/ipv4/tcp_window_scaling", "window scaling decides throughput and can be broken by middleboxes"},
}

// maxSingle is how many plain sysctl differences get a finding of their own before the
// rest are summed up in one, so a host-network pod does not bury everything else.
const maxSingle = 5

func whyCritical(key string) (string, bool) {
	for _, c := range critical {
		if ok, _ := path.Match(c.pattern, key); ok {
			return c.why, true
		}
	}
	return "", false
}

func differs(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	var rest []string
	for _, r := range c.Rows {
		if r.Section != "sysctls" || r.Equal || r.AnyMissing() || isVolatile(r.Key) || r.Key == "truncated" || r.Key == "skipped-interfaces" {
			continue
		}
		if why, ok := whyCritical(r.Key); ok {
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message:  fmt.Sprintf("`sysctl %s` differs (%s)", dotted(r.Key), contract.Values(c, r)),
				Detail:   why,
				Keys:     []string{r.ID()},
			})
			continue
		}
		rest = append(rest, r.ID())
	}
	for i, id := range rest {
		if i == maxSingle {
			out = append(out, contract.Finding{
				Severity: contract.Medium,
				Message:  fmt.Sprintf("%d more sysctls differ, e.g. %s", len(rest)-maxSingle, strings.TrimPrefix(id, "sysctls/")),
				Keys:     rest[maxSingle:],
			})
			break
		}
		r := rowByID(c, id)
		out = append(out, contract.Finding{
			Severity: contract.Medium,
			Message:  fmt.Sprintf("`sysctl %s` differs (%s)", dotted(r.Key), contract.Values(c, r)),
			Keys:     []string{id},
		})
	}
	return out
}

// conntrackFull flags a subject whose conntrack table is nearly full: new flows are then
// dropped by the kernel, which looks like random connect timeouts.
func conntrackFull(c *contract.Comparison) []contract.Finding {
	count, max := find(c, "net/netfilter/nf_conntrack_count"), find(c, "net/netfilter/nf_conntrack_max")
	if count == nil || max == nil {
		return nil
	}
	var out []contract.Finding
	for i, s := range c.Subjects {
		n, err1 := strconv.Atoi(at(count, i))
		m, err2 := strconv.Atoi(at(max, i))
		if err1 != nil || err2 != nil || m <= 0 || n*10 < m*9 {
			continue
		}
		out = append(out, contract.Finding{
			Severity: contract.High,
			Message:  fmt.Sprintf("%s: conntrack table is %d/%d full; new connections are dropped when it fills", s, n, m),
			Keys:     []string{count.ID(), max.ID()},
		})
	}
	return out
}

func at(r *contract.Row, i int) string {
	if i < len(r.Values) && (i >= len(r.Missing) || !r.Missing[i]) {
		return r.Values[i]
	}
	return ""
}

func find(c *contract.Comparison, key string) *contract.Row {
	for i := range c.Rows {
		if c.Rows[i].Section == "sysctls" && c.Rows[i].Key == key {
			return &c.Rows[i]
		}
	}
	return nil
}

func rowByID(c *contract.Comparison, id string) contract.Row {
	for _, r := range c.Rows {
		if r.ID() == id {
			return r
		}
	}
	return contract.Row{}
}

// dotted is a sysctl key as sysctl(8) takes it: net/ipv4/ip_local_port_range as
// net.ipv4.ip_local_port_range (an interface name with a dot keeps its dot as a slash).
func dotted(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, ".", "/")
	}
	return strings.Join(parts, ".")
}
