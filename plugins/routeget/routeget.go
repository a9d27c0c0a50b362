// Package routeget records, per probe target and resolved address, the answer `ip route get`
// gives (route type, table, source, device, gateway) or the errno the kernel refuses with,
// asking with the target's protocol and destination port so port-selective policy rules count.
package routeget

import (
	"encoding/json"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "routeget"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
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
	// AsApp holds the same lookups asked as the target process's uid (RTA_UID), where it
	// differs from the prober's: policy rules with a uidrange then match as for the app.
	AsApp *AsApp `json:"asApp,omitempty"`
}

// AsApp is the lookups as the app's uid, or why there are none.
type AsApp struct {
	UID     int           `json:"uid"`
	Skipped string        `json:"skipped,omitempty"`
	Error   *report.Error `json:"error,omitempty"`
	Lookups []Lookup      `json:"lookups,omitempty"`
}

// AsAppPrefix starts the fact key of a lookup as the app: "as-app/tcp://10.0.0.1:80/ipv4".
const AsAppPrefix = "as-app/"

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
	if s.AsApp != nil {
		for _, l := range s.AsApp.Lookups {
			out = append(out, probe.Fact{Key: AsAppPrefix + l.FactKey(), Value: l.Format()})
		}
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
