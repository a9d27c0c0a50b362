package netprobe

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// RouteLookup is one `ip route get` query and its answer.
type RouteLookup struct {
	Target  string `json:"target"`
	Address string `json:"address,omitempty"`
	Family  string `json:"family,omitempty"`
	// Key is the address's place in fact keys: "ipv4", "ipv6", "ipv4#2".
	Key string `json:"key,omitempty"`
	// IPProto and Dport are the selectors sent with the query (RTA_IP_PROTO, RTA_DPORT),
	// so that `ip rule ... ipproto tcp dport N` rules are matched as for a real connect.
	IPProto string        `json:"ipproto,omitempty"`
	Dport   int           `json:"dport,omitempty"`
	Route   *RouteAnswer  `json:"route,omitempty"`
	Error   *report.Error `json:"error,omitempty"`
	// Resolve is set when the target's name could not be resolved at all.
	Resolve *Resolution `json:"resolve,omitempty"`
}

// RouteAnswer is the kernel's answer to a route lookup.
type RouteAnswer struct {
	Type    string `json:"type"`
	Table   string `json:"table"`
	Dst     string `json:"dst,omitempty"`
	Src     string `json:"src,omitempty"`
	Dev     string `json:"dev,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
}

// Format is the fact value of a lookup: "unicast dev eth0 via 169.254.1.1 src 10.1.2.3
// table main", or the errno.
func (l RouteLookup) Format() string {
	if l.Error != nil {
		return l.Error.Name()
	}
	if l.Route == nil {
		return "-"
	}
	r := l.Route
	parts := []string{r.Type}
	if r.Dev != "" {
		parts = append(parts, "dev "+r.Dev)
	}
	if r.Gateway != "" {
		parts = append(parts, "via "+r.Gateway)
	}
	if r.Src != "" {
		parts = append(parts, "src "+r.Src)
	}
	parts = append(parts, "table "+r.Table)
	if r.MTU > 0 {
		parts = append(parts, "mtu "+strconv.Itoa(r.MTU))
	}
	return strings.Join(parts, " ")
}

// FactKey is the lookup's fact key: "<target>/<addrKey>", or "<target>" when the name
// did not resolve.
func (l RouteLookup) FactKey() string {
	if l.Key == "" {
		return l.Target
	}
	return l.Target + "/" + l.Key
}
