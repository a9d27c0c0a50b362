package neighbours

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "neighbours"

// MaxNeighbours caps the list; gateways are kept first. A pod has a few entries, a node
// on a large L2 segment thousands; at about 100 bytes an entry, 256 stay near 25 KiB.
const MaxNeighbours = 256

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Rules: map[string]contract.Rule{
			"gateway-unresolved": GatewayUnresolved,
		},
		Analysis: &analysis,
	})
}

// Section is the JSON shape of sections.neighbours.
type Section struct {
	Neighbours []Neighbour `json:"neighbours"`
	Total      int         `json:"total"`
	Truncated  bool        `json:"truncated,omitempty"`
	// GatewayError is set when the main table could not be read to mark gateways.
	GatewayError *report.Error `json:"gatewayError,omitempty"`
	Interrupted  bool          `json:"interrupted,omitempty"`
}

// Neighbour is one ARP (IPv4) or NDP (IPv6) entry.
type Neighbour struct {
	Family string `json:"family"` // "ipv4" or "ipv6"
	IP     string `json:"ip"`
	Dev    string `json:"dev"`
	LLAddr string `json:"lladdr,omitempty"`
	// State is the NUD state, e.g. "REACHABLE", "STALE", "FAILED", "PERMANENT";
	// combined states are joined with "|".
	State  string `json:"state"`
	Router bool   `json:"router,omitempty"`
	// Flags are the other NTF_* flags (proxy, extern_learn, ...).
	Flags []string `json:"flags,omitempty"`
	// Gateway marks a next hop of a main-table route: its entry is configuration that
	// matters, where other learned entries only record who was talked to recently.
	Gateway bool `json:"gateway,omitempty"`
	// Veth marks a learned entry on a veth link. Only the peer device can answer there, so the
	// address is the peer's MAC: per pod by nature (unless the CNI pins it, as Calico's
	// ee:ee:ee:ee:ee:ee), and compared as "the veth peer" rather than by value.
	Veth bool `json:"veth,omitempty"`
}

// Key lines the entry up across subjects: device and address.
func (n Neighbour) Key() string { return n.Dev + "/" + n.IP }

// Value is the link-layer address and router flag.
func (n Neighbour) Value() string {
	v := "lladdr " + n.LLAddr
	switch {
	case n.LLAddr == "":
		v = "no lladdr"
	case n.Veth:
		v = "lladdr of the veth peer"
	}
	if n.Router {
		v += " router"
	}
	return v
}

// Plugin collects the neighbours section.
type Plugin struct{}

// Facts flattens the section. The link-layer address of a gateway or a static entry is
// compared; learned entries of other hosts and every state are Info, because they only
// record recent traffic.
func Facts(s *Section) []probe.Fact {
	out := make([]probe.Fact, 0, 2*len(s.Neighbours)+2)
	for _, n := range s.Neighbours {
		kind := probe.ShowOnly
		if n.Gateway || strings.Contains(n.State, "PERMANENT") {
			kind = probe.Exact
		}
		out = append(out,
			probe.Fact{Key: n.Key(), Value: n.Value(), Kind: kind},
			probe.Fact{Key: n.Key() + "/state", Value: n.State, Kind: probe.ShowOnly})
		if n.Veth && n.LLAddr != "" {
			out = append(out, probe.Fact{Key: n.Key() + "/lladdr", Value: n.LLAddr, Kind: probe.ShowOnly})
		}
	}
	out = append(out, probe.Fact{Key: "count", Value: fmt.Sprint(s.Total), Kind: probe.ShowOnly})
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: fmt.Sprintf("true (%d of %d shown)", len(s.Neighbours), s.Total), Kind: probe.Exact})
	}
	return out
}

// GatewayUnresolved turns a gateway whose neighbour entry is FAILED or INCOMPLETE into a
// finding: every packet routed through it is dropped (connects fail with EHOSTUNREACH
// after the resolution timeout). It reports it when another subject resolves its
// gateway, or, with lower severity, when no subject does.
func GatewayUnresolved(c *contract.Comparison) []contract.Finding {
	type bad struct {
		subject int
		n       Neighbour
	}
	var bads []bad
	var ok []string
	for i, rep := range c.Reports {
		if rep == nil {
			continue
		}
		var s Section
		if found, err := rep.Section(Name, &s); !found || err != nil {
			continue
		}
		for _, n := range s.Neighbours {
			if !n.Gateway {
				continue
			}
			if strings.Contains(n.State, "FAILED") || strings.Contains(n.State, "INCOMPLETE") {
				bads = append(bads, bad{i, n})
			} else if n.LLAddr != "" {
				ok = append(ok, fmt.Sprintf("%s resolves %s on %s to %s (%s)", c.Subjects[i], n.IP, n.Dev, n.LLAddr, n.State))
			}
		}
	}
	var out []contract.Finding
	for _, b := range bads {
		sev, also := contract.Medium, ""
		if len(ok) > 0 {
			sev, also = contract.High, "; "+strings.Join(ok, "; ")
		}
		out = append(out, contract.Finding{
			Severity: sev,
			Message:  fmt.Sprintf("%s cannot resolve its gateway %s on %s (neighbour state %s): traffic through it is dropped and connects fail with EHOSTUNREACH%s", c.Subjects[b.subject], b.n.IP, b.n.Dev, b.n.State, also),
			Keys:     []string{Name + "/" + b.n.Key() + "/state"},
		})
	}
	return out
}

var _ probe.Collector = (*Plugin)(nil)
