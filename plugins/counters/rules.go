package counters

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// notable counters get a sentence of their own when they move in some subjects only.
// The sentence completes "<subject>: … N times during the probe window".
var notable = map[string]struct {
	sev  contract.Severity
	what string
}{
	"snmp/Ip/OutNoRoutes":            {contract.Critical, "routing failed %d times during the probe window (Ip OutNoRoutes): connects got ENETUNREACH from the route lookup"},
	"snmp6/Ip6OutNoRoutes":           {contract.Critical, "IPv6 routing failed %d times during the probe window (Ip6OutNoRoutes): IPv6 connects got ENETUNREACH"},
	"snmp/Tcp/AttemptFails":          {contract.High, "%d TCP connection attempts failed during the probe window (Tcp AttemptFails: reset or timed out before established)"},
	"snmp/Icmp/InDestUnreachs":       {contract.High, "%d ICMP destination-unreachable messages arrived during the probe window (Icmp InDestUnreachs): something on the path rejects the traffic"},
	"snmp6/Icmp6InDestUnreachs":      {contract.High, "%d ICMPv6 destination-unreachable messages arrived during the probe window"},
	"snmp/Icmp/OutDestUnreachs":      {contract.Medium, "the namespace sent %d ICMP destination-unreachable messages during the probe window (Icmp OutDestUnreachs)"},
	"snmp6/Icmp6OutDestUnreachs":     {contract.Medium, "the namespace sent %d ICMPv6 destination-unreachable messages during the probe window"},
	"netstat/TcpExt/ListenDrops":     {contract.High, "%d incoming connections were dropped at a listener during the probe window (TcpExt ListenDrops)"},
	"netstat/TcpExt/ListenOverflows": {contract.High, "a listen queue overflowed %d times during the probe window (TcpExt ListenOverflows)"},
	"snmp/Ip/OutDiscards":            {contract.High, "%d outgoing IPv4 packets were discarded during the probe window (Ip OutDiscards: no buffer, or netfilter dropped them)"},
	"snmp6/Ip6OutDiscards":           {contract.High, "%d outgoing IPv6 packets were discarded during the probe window"},
	"snmp/Ip/InDiscards":             {contract.Medium, "%d incoming IPv4 packets were discarded during the probe window (Ip InDiscards)"},
	"snmp/Ip/FragFails":              {contract.High, "%d packets needed fragmenting but could not be fragmented (DF set) during the probe window (Ip FragFails): an MTU problem"},
	"snmp/Ip/InAddrErrors":           {contract.Medium, "%d packets arrived for an address not on this host during the probe window (Ip InAddrErrors)"},
	"snmp/Tcp/EstabResets":           {contract.Medium, "%d established TCP connections were reset during the probe window (Tcp EstabResets)"},
	"snmp/Tcp/OutRsts":               {contract.Low, "the namespace sent %d TCP resets during the probe window (Tcp OutRsts)"},
	"snmp/Udp/NoPorts":               {contract.Low, "%d UDP datagrams arrived for a closed port during the probe window (Udp NoPorts)"},
	"snmp/Udp/RcvbufErrors":          {contract.Medium, "%d UDP datagrams were dropped for a full receive buffer during the probe window (Udp RcvbufErrors)"},
	"snmp/Udp/SndbufErrors":          {contract.Medium, "%d UDP sends failed for a full send buffer during the probe window (Udp SndbufErrors)"},
}

// failureLike picks the other counters whose moving in one subject only is worth a line.
var failureLike = words{contains: []string{"Fail", "Drop", "Err", "Discard", "NoRoute", "Overflow", "Unreach", "Timeout", "Rst", "Reset", "Retrans", "Prune", "Abort"}}

// recovered picks the counters of loss that TCP repaired by itself (a retransmission, a
// timer that fired and resent): no caller saw an error. One lost segment in a second of
// ordinary traffic happens between healthy replicas, so these are shown and reported as a
// hint, but do not make subjects differ; a loss that broke a connection moves a failure
// counter too (AttemptFails, TCPAbortOnTimeout, EstabResets).
var recovered = words{contains: []string{"Retrans", "LossProbe", "SpuriousRTO", "Lost", "Reorder", "DSACK", "SACK", "Undo", "Recovery"}, suffix: []string{"Timeouts"}}

// words matches a counter name that contains one of its words or ends in one: a regexp
// alternation did the same at a tenth of the speed, and every report has hundreds of
// counters (the pair's diff spent 14% of its time here).
type words struct{ contains, suffix []string }

func (w words) MatchString(s string) bool {
	for _, c := range w.contains {
		if strings.Contains(s, c) {
			return true
		}
	}
	for _, c := range w.suffix {
		if strings.HasSuffix(s, c) {
			return true
		}
	}
	return false
}

// compared tells whether a counter's moving in some subjects only is a difference.
func compared(key string) bool {
	_, isNotable := notable[key]
	return (isNotable || failureLike.MatchString(key)) && !recovered.MatchString(key)
}

// movedRule reports counters that moved in some subjects and not in others. Counters that
// moved everywhere are normal traffic; the table shows them with --all.
func movedRule(c *contract.Comparison) []contract.Finding {
	windowed := windowedSubjects(c)
	var out []contract.Finding
	var other, repaired []string
	repairedIn := map[string]bool{}
	for _, r := range c.Rows {
		if r.Section != "counters" || strings.HasSuffix(r.Key, "/total") || strings.HasPrefix(r.Key, "sockstat/") ||
			strings.HasPrefix(r.Key, "error/") || gauges[r.Key] {
			continue
		}
		deltas, ok := deltasOf(r)
		if !ok {
			continue
		}
		var moved, still []string
		for i, d := range deltas {
			if !windowed[i] {
				continue
			}
			if d > 0 {
				moved = append(moved, c.Subjects[i])
			} else {
				still = append(still, c.Subjects[i])
			}
		}
		if len(moved) == 0 || len(still) == 0 {
			continue
		}
		if recovered.MatchString(r.Key) {
			repaired = append(repaired, r.ID())
			for _, s := range moved {
				repairedIn[s] = true
			}
			continue
		}
		n, isNotable := notable[r.Key]
		if !isNotable {
			if failureLike.MatchString(r.Key) {
				other = append(other, r.ID())
			}
			continue
		}
		for i, d := range deltas {
			if d <= 0 {
				continue
			}
			out = append(out, contract.Finding{
				Severity: n.sev,
				Message:  fmt.Sprintf("%s: %s; it did not move in %s", c.Subjects[i], counted(n.what, d), strings.Join(still, ", ")),
				Keys:     []string{r.ID()},
			})
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		out = append(out, contract.Finding{
			Severity: contract.Low,
			Message:  "error counters moved during the probe window in some subjects only: " + counterList(other),
			Keys:     other,
		})
	}
	// The hint is for subjects that otherwise agree: where anything differs, the loss is
	// part of what differs (a failing probe retransmits its SYNs) and its rows show it.
	if len(repaired) > 0 && !anyUnequal(c) {
		sort.Strings(repaired)
		var in []string
		for _, s := range c.Subjects {
			if repairedIn[s] {
				in = append(in, s)
			}
		}
		out = append(out, contract.Finding{
			Severity: contract.Info,
			Message: fmt.Sprintf("%s: TCP retransmitted during the probe window (%s) although every probe went alike; "+
				"if the problem comes and goes, watch longer to catch it failing: --window 30s",
				strings.Join(in, ", "), counterList(repaired)),
			Keys: repaired,
		})
	}
	return out
}

func anyUnequal(c *contract.Comparison) bool {
	for _, r := range c.Rows {
		if !r.Equal {
			return true
		}
	}
	return false
}

// counterList names up to 8 counters of ids ("Tcp RetransSegs, TcpExt TCPTimeouts").
func counterList(ids []string) string {
	names := make([]string, 0, 8)
	for i, id := range ids {
		if i == 8 {
			names = append(names, fmt.Sprintf("and %d more", len(ids)-8))
			break
		}
		k := strings.TrimPrefix(id, "counters/")
		if _, rest, ok := strings.Cut(k, "/"); ok {
			k = strings.ReplaceAll(rest, "/", " ")
		}
		names = append(names, k)
	}
	return strings.Join(names, ", ")
}

// deltasOf reads a row's values as deltas; a subject without the counter counts as 0
// (IcmpMsg counters only exist once used). ok is false for rows that are not deltas.
func deltasOf(r contract.Row) ([]int64, bool) {
	out := make([]int64, len(r.Values))
	any := false
	for i, v := range r.Values {
		if i < len(r.Missing) && r.Missing[i] {
			continue
		}
		d, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		out[i], any = d, true
	}
	return out, any
}

// windowedSubjects tells which subjects have a probe window: without one a counter's
// absence says nothing about whether it moved.
func windowedSubjects(c *contract.Comparison) []bool {
	out := make([]bool, len(c.Subjects))
	for i := range out {
		out[i] = true
		if i < len(c.Reports) && c.Reports[i] != nil {
			var s Section
			ok, err := c.Reports[i].Section("counters", &s)
			out[i] = ok && err == nil && s.Window
		}
	}
	return out
}

// counted fills a notable counter's sentence with n, its nouns and verbs in the
// singular for one ("1 TCP connection attempt failed", "failed 1 time").
func counted(what string, n int64) string {
	s := fmt.Sprintf(what, n)
	if n != 1 {
		return s
	}
	for _, r := range [][2]string{
		{" times ", " time "}, {" messages ", " message "}, {" attempts ", " attempt "}, {" connections were ", " connection was "},
		{" packets were ", " packet was "}, {" packets needed ", " packet needed "}, {" packets arrived ", " packet arrived "},
		{" resets ", " reset "}, {" datagrams were ", " datagram was "}, {" datagrams arrived ", " datagram arrived "}, {" sends ", " send "},
	} {
		s = strings.Replace(s, r[0], r[1], 1)
	}
	return s
}
