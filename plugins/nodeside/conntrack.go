package nodeside

import (
	"bufio"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// MaxConntrack caps the entries listed per pod; the count covers them all.
const MaxConntrack = 50

// Conntrack is the node's connection tracking as it concerns the pod.
type Conntrack struct {
	// Source is where the entries came from: "/proc/net/nf_conntrack" or "netlink".
	Source string        `json:"source,omitempty"`
	Error  *report.Error `json:"error,omitempty"`
	// Entries are the pod's entries (its IP in either direction), without timeouts and
	// byte counters; Count counts them all, ByState by TCP state or "udp", "icmp" ….
	Entries   []string       `json:"entries"`
	Count     int            `json:"count"`
	ByState   map[string]int `json:"byState,omitempty"`
	Unreplied int            `json:"unreplied"`
	Truncated bool           `json:"truncated,omitempty"`
	// TableCount and TableMax are the whole table's nf_conntrack_count and _max: a table
	// near its max drops new connections of every pod on the node.
	TableCount int `json:"tableCount,omitempty"`
	TableMax   int `json:"tableMax,omitempty"`
}

var tcpStates = map[uint8]string{0: "NONE", 1: "SYN_SENT", 2: "SYN_RECV", 3: "ESTABLISHED", 4: "FIN_WAIT", 5: "CLOSE_WAIT", 6: "LAST_ACK", 7: "TIME_WAIT", 8: "CLOSE", 9: "SYN_SENT2"}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

func (ct *Conntrack) add(line, state string, unreplied bool) {
	ct.Count++
	if ct.ByState == nil {
		ct.ByState = map[string]int{}
	}
	ct.ByState[state]++
	if unreplied {
		ct.Unreplied++
	}
	if len(ct.Entries) < MaxConntrack {
		ct.Entries = append(ct.Entries, line)
	} else {
		ct.Truncated = true
	}
}

// ParseConntrack reads /proc/net/nf_conntrack lines ("ipv4 2 tcp 6 431999 ESTABLISHED
// src=… dst=… sport=… dport=… src=… … [ASSURED] mark=0 zone=0 use=2") and adds the ones
// naming a pod IP as an address, without the timeout and counters (they move by themselves).
func ParseConntrack(r io.Reader, ips []netip.Addr, ct *Conntrack) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !lineHolds(f, ips) {
			continue
		}
		proto := f[2]
		rest := f[5:] // after family, family number, protocol, protocol number, timeout
		state := proto
		if len(rest) > 0 && !strings.Contains(rest[0], "=") && !strings.HasPrefix(rest[0], "[") {
			state, rest = rest[0], rest[1:]
		}
		var keep []string
		unreplied := false
		tuples := 0
		for _, w := range rest {
			switch {
			case strings.HasPrefix(w, "src="):
				tuples++
				if tuples > 1 {
					keep = append(keep, "reply:")
				}
				keep = append(keep, canonicalAddr(w))
			case strings.HasPrefix(w, "dst="):
				keep = append(keep, canonicalAddr(w))
			case strings.HasPrefix(w, "sport="), strings.HasPrefix(w, "dport="),
				strings.HasPrefix(w, "type="), strings.HasPrefix(w, "code="), strings.HasPrefix(w, "id="):
				keep = append(keep, w)
			case w == "[UNREPLIED]":
				unreplied = true
				keep = append(keep, w)
			case w == "[ASSURED]":
				keep = append(keep, w)
			}
		}
		line := proto + " " + state + " " + strings.Join(keep, " ")
		if state == proto {
			line = proto + " " + strings.Join(keep, " ")
		}
		ct.add(line, state, unreplied)
	}
	return sc.Err()
}

// canonicalAddr rewrites "src=fd22:0000:…:0001" (the kernel prints IPv6 in full) as
// "src=fd22::1", the form the rest of the report uses.
func canonicalAddr(w string) string {
	k, v, _ := strings.Cut(w, "=")
	if a, err := netip.ParseAddr(v); err == nil {
		return k + "=" + a.String()
	}
	return w
}

func lineHolds(fields []string, ips []netip.Addr) bool {
	for _, w := range fields {
		v, ok := strings.CutPrefix(w, "src=")
		if !ok {
			v, ok = strings.CutPrefix(w, "dst=")
		}
		if !ok {
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil && isPodIP(a.AsSlice(), ips) {
			return true
		}
	}
	return false
}

func readInt(p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
