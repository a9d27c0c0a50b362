package routes

import (
	"fmt"
	"sort"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "routes"

// MaxRoutes caps the list. A pod has tens of routes (local table included), a node's own
// namespace one or two per pod; BGP full tables have hundreds of thousands. At about 130
// bytes a route, 500 keep the section near 65 KiB inside the report's 256 KiB budget
// (measured: 2000 routes made a 261 KiB section). Main-table routes are kept first.
const MaxRoutes = 500

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Identity:  Identity,
		Rules: map[string]contract.Rule{
			"no-default-route":        NoDefaultRoute,
			"default-gateway-differs": DefaultGatewayDiffers,
			"reject-route":            RejectRoute,
			"mtu-differs":             MTUDiffers,
		},
		Analysis: &analysis,
	})
}

// Section is the JSON shape of sections.routes.
type Section struct {
	Routes []Route `json:"routes"`
	// Total counts every route seen; Counts splits it by "family/table".
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	Truncated bool           `json:"truncated,omitempty"`
	// Errors holds a dump failure per family ("ipv4", "ipv6"); the other family is still reported.
	Errors map[string]*report.Error `json:"errors,omitempty"`
	// Interrupted: the kernel flagged a dump as inconsistent twice (routes changed while read).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Route and Nexthop are the shared value types (events and nodeside hold routes too).
type (
	Route   = netstate.Route
	Nexthop = netstate.Nexthop
)

// Plugin collects the routes section.
type Plugin struct{}

// finish counts, orders and caps converted routes.
func finish(conv []Route) *Section {
	s := &Section{Counts: map[string]int{}, Total: len(conv)}
	for _, r := range conv {
		s.Counts[r.Family+"/"+r.Table]++
	}
	keys := make([]string, len(conv))
	for i := range conv {
		keys[i] = conv[i].Key() + "\x00" + conv[i].Value()
	}
	idx := make([]int, len(conv))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := &conv[idx[i]], &conv[idx[j]]
		if ra, rb := tableRank(a.Table), tableRank(b.Table); ra != rb {
			return ra < rb
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return keys[idx[i]] < keys[idx[j]]
	})
	if len(idx) > MaxRoutes {
		idx, s.Truncated = idx[:MaxRoutes], true
	}
	s.Routes = make([]Route, 0, len(idx))
	for _, i := range idx {
		s.Routes = append(s.Routes, conv[i])
	}
	return s
}

func tableRank(t string) int {
	switch t {
	case "main":
		return 0
	case "default":
		return 2
	case "local":
		return 3
	}
	return 1
}

// IsReject: route types that make the kernel refuse the packet instead of sending it.
func IsReject(typ string) bool {
	return typ == "unreachable" || typ == "blackhole" || typ == "prohibit"
}

// Facts flattens the section: one fact per route key, plus per-table counts. Keys stay unique: a second route with the same
// key (rare: equal metric on two devices) gets a "#2" suffix, in a stable order.
func Facts(s *Section) []probe.Fact {
	out := make([]probe.Fact, 0, len(s.Routes)+len(s.Counts)+1)
	seen := map[string]int{}
	for _, r := range s.Routes {
		k := r.Key()
		seen[k]++
		if n := seen[k]; n > 1 {
			k = fmt.Sprintf("%s #%d", k, n)
		}
		out = append(out, probe.Fact{Key: k, Value: r.Value(), Kind: probe.Exact})
	}
	tables := make([]string, 0, len(s.Counts))
	for t := range s.Counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		out = append(out, probe.Fact{Key: "count/" + t, Value: fmt.Sprint(s.Counts[t]), Kind: probe.ShowOnly})
	}
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: fmt.Sprintf("true (%d of %d shown)", len(s.Routes), s.Total), Kind: probe.Exact})
	}
	fams := make([]string, 0, len(s.Errors))
	for f := range s.Errors {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, f := range fams {
		out = append(out, probe.Fact{Key: "error/" + f, Value: s.Errors[f].Name(), Kind: probe.Exact})
	}
	return out
}

var _ probe.Collector = (*Plugin)(nil)

// Identity names the gateways of the default routes: a pod on another node has another
// gateway by design (ptp, bridge), so the diff normalises them between nodes.
func Identity(s *Section) probe.SelfValues {
	var id probe.SelfValues
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Dst != "default" || r.Table != "main" {
			continue
		}
		if r.Gw != "" {
			id.Gateways = append(id.Gateways, r.Gw)
		}
		for _, nh := range r.Nexthops {
			if nh.Gw != "" {
				id.Gateways = append(id.Gateways, nh.Gw)
			}
		}
	}
	return id
}
