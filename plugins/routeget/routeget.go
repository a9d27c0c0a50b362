// Package routeget records, per probe target and resolved address, the answer `ip route get`
// gives (route type, table, source, device, gateway) or the errno the kernel refuses with,
// asking with the target's protocol and destination port so port-selective policy rules count.
package routeget

import (
	"encoding/json"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// Name is the section name.
const Name = "routeget"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]diff.Rule{
			"lookup-fails": ruleLookupFails,
		},
		Analysis: &analysis,
	})
}

// Plugin is the route lookup probe. It sends no traffic: RTM_GETROUTE only asks the FIB.
type Plugin struct{}

// Section is the "routeget" section.
type Section struct {
	Lookups []Lookup `json:"lookups"`
}

// Lookup and Route are the shared value types (nodeside holds route answers too, and
// connect reads lookups).
type (
	Lookup = netprobe.RouteLookup
	Route  = netprobe.RouteAnswer
)

// facts flattens the section: one Exact fact per lookup.
func facts(s *Section) []probe.Fact {
	out := make([]probe.Fact, 0, len(s.Lookups))
	for _, l := range s.Lookups {
		out = append(out, probe.Fact{Key: l.FactKey(), Value: l.Format()})
	}
	return out
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
