// Package routeget records, per probe target and resolved address, the answer `ip route get`
// gives (route type, table, source, device, gateway) or the errno the kernel refuses with,
// asking with the target's protocol and destination port so port-selective policy rules count.
package routeget

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Name is the section name.
const Name = "routeget"

func init() {
	probe.Register(Name, func() probe.Plugin { return &Plugin{} })
	registerRules()
}

// Plugin is the route lookup probe. It sends no traffic: RTM_GETROUTE only asks the FIB.
type Plugin struct{}

// Section is the "routeget" section.
type Section struct {
	Lookups []Lookup `json:"lookups"`
}

// Lookup is one route query.
type Lookup struct {
	Target  string `json:"target"`
	Address string `json:"address,omitempty"`
	Family  string `json:"family,omitempty"`
	// Key is the address's place in fact keys: "ipv4", "ipv6", "ipv4#2".
	Key string `json:"key,omitempty"`
	// IPProto and Dport are the selectors sent with the query (RTA_IP_PROTO, RTA_DPORT),
	// so that `ip rule ... ipproto tcp dport N` rules are matched as for a real connect.
	IPProto string        `json:"ipproto,omitempty"`
	Dport   int           `json:"dport,omitempty"`
	Route   *Route        `json:"route,omitempty"`
	Error   *report.Error `json:"error,omitempty"`
	// Resolve is set when the target's name could not be resolved at all.
	Resolve *netprobe.Resolution `json:"resolve,omitempty"`
}

// Route is the kernel's answer.
type Route struct {
	Type    string `json:"type"`
	Table   string `json:"table"`
	Dst     string `json:"dst,omitempty"`
	Src     string `json:"src,omitempty"`
	Dev     string `json:"dev,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
}

func (*Plugin) Name() string       { return Name }
func (*Plugin) Phase() probe.Phase { return probe.Active }

// Format is the fact value of a lookup: "unicast dev eth0 via 169.254.1.1 src 10.1.2.3
// table main", or the errno.
func (l Lookup) Format() string {
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
func (l Lookup) FactKey() string {
	if l.Key == "" {
		return l.Target
	}
	return l.Target + "/" + l.Key
}

// Facts flattens the section: one Exact fact per lookup.
func (*Plugin) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	s, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	out := make([]probe.Fact, 0, len(s.Lookups))
	for _, l := range s.Lookups {
		out = append(out, probe.Fact{Key: l.FactKey(), Value: l.Format()})
	}
	return out, nil
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
