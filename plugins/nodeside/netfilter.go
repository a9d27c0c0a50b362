package nodeside

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// MaxRules caps the rules listed per pod; a pod is named by a few rules, a node that
// names it in hundreds has its own problem, shown by the total.
const MaxRules = 100

// Netfilter lists the nftables rules (iptables-nft's included) that name the pod.
type Netfilter struct {
	// Error is why the ruleset could not be listed (EPERM without CAP_NET_ADMIN).
	Error     *report.Error `json:"error,omitempty"`
	Rules     []Rule        `json:"rules"`
	Total     int           `json:"total"`
	Truncated bool          `json:"truncated,omitempty"`
	// Note says what was not searched (legacy iptables rules).
	Note string `json:"note,omitempty"`
}

// Rule is one rule naming the pod.
type Rule struct {
	Table  string `json:"table"` // family/name
	Chain  string `json:"chain"`
	Handle uint64 `json:"handle"`
	// Action is what the rule ends in, in the netfilter section's words (drop, reject,
	// accept, jump, DNAT, REJECT …).
	Action string `json:"action"`
	// Words is the rule as a person types it, as the netfilter section words its rules:
	// `iptables [-t nat] -A CHAIN …` for a rule of an iptables-nft table, `nft add rule
	// FAMILY TABLE CHAIN …` for a native one.
	Words string `json:"words,omitempty"`
	// Target is the chain a jump or goto enters ("" for other verdicts).
	Target string `json:"target,omitempty"`
	// Mentions says how it names the pod: "ip" (a compared address), "veth" (iifname or
	// oifname), "set:NAME" (a looked-up set holding the pod's IP).
	Mentions []string `json:"mentions"`
}

func isPodIP(b []byte, ips []netip.Addr) bool {
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, ip := range ips {
		if a == ip {
			return true
		}
	}
	return false
}

// isIfname: interface names are compared NUL-padded (to IFNAMSIZ by iptables-nft, one NUL
// by nft); a wildcard compares the prefix without any NUL and is not a match of this name.
func isIfname(b []byte, name string) bool {
	if !bytes.HasPrefix(b, []byte(name)) || len(b) == len(name) {
		return false
	}
	return strings.Trim(string(b[len(name):]), "\x00") == ""
}
