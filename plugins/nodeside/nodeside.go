// Package nodeside reports the node's half of one pod's network, read from the node's
// network namespace: the host end of the pod's veth, the routes to the pod's IPs, the
// sysctls of that veth, the netfilter rules naming the pod and its conntrack entries.
// It runs only when the prober is given --pod-ip (kubectl netdiff --node-side).
package nodeside

import (
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "nodeside"

// Placeholders the facts use for what is the pod's own, so two pods line up.
const (
	SelfIP  = "<self>"
	PodVeth = "<pod-veth>"
)

// MaxRoutes caps the routes listed per pod: those whose destination holds a pod IP are
// a handful (default, pod CIDR, the host route, local-table entries) even on a big node.
const MaxRoutes = 64

// Section is the stored shape of sections.nodeside.
type Section struct {
	// PodIPs are the IPs the node side was asked about (--pod-ip).
	PodIPs []string `json:"podIPs"`
	// PodIfindex is the ifindex given with --pod-ifindex (0: found by route lookup).
	PodIfindex int `json:"podIfindex,omitempty"`
	// Veth is the host end of the pod's veth; VethError says why it was not found.
	Veth      *netstate.Interface `json:"veth,omitempty"`
	VethError *report.Error       `json:"vethError,omitempty"`
	// Sysctls maps paths below /proc/sys ("net/ipv4/conf/<veth>/rp_filter") to values.
	Sysctls map[string]string `json:"sysctls"`
	// SysctlErrors maps unreadable paths to the errno name.
	SysctlErrors map[string]string `json:"sysctlErrors,omitempty"`
	// RouteGet is the kernel's answer to `ip route get POD-IP`, one per pod IP.
	RouteGet []RouteGet `json:"routeGet"`
	// Routes are the routes of every table whose destination holds a pod IP.
	Routes      []netstate.Route         `json:"routes"`
	RoutesTotal int                      `json:"routesTotal"`
	Truncated   bool                     `json:"truncated,omitempty"`
	RouteErrors map[string]*report.Error `json:"routeErrors,omitempty"`
	// ReplyRoute is the node's route for a reply to each pod IP arriving from beyond the
	// node: `ip route get POD-IP from GATEWAY iif UPLINK`, the uplink being the device of
	// the node's default route and GATEWAY its next hop. Policy rules that select by the
	// incoming interface or the source see it; the lookup of RouteGet (the node's own
	// packets) does not.
	ReplyRoute []ReplyRoute `json:"replyRoute,omitempty"`
	// Neighbours are the node's neighbour entries for the pod's IPs (the MAC the node
	// sends the pod's packets to), on any device.
	Neighbours []Neighbour   `json:"neighbours,omitempty"`
	NeighError *report.Error `json:"neighError,omitempty"`
	// Rules are the node's policy routing rules that can select packets to the pod (no
	// `to`, or a `to` holding a pod IP), the default three left out.
	Rules      []netstate.Rule          `json:"rules,omitempty"`
	RuleErrors map[string]*report.Error `json:"ruleErrors,omitempty"`
	Netfilter  *Netfilter               `json:"netfilter"`
	// Felix is Calico's chains for the pod's veth, where Felix programs them.
	Felix     *Felix     `json:"felix,omitempty"`
	Conntrack *Conntrack `json:"conntrack"`
}

// RouteGet is one `ip route get` of a pod IP.
type RouteGet struct {
	IP    string                `json:"ip"`
	Route *netprobe.RouteAnswer `json:"route,omitempty"`
	Error *report.Error         `json:"error,omitempty"`
}

// ReplyRoute is one `ip route get POD-IP from FROM iif IIF`.
type ReplyRoute struct {
	IP    string                `json:"ip"`
	From  string                `json:"from,omitempty"`
	Iif   string                `json:"iif,omitempty"`
	Route *netprobe.RouteAnswer `json:"route,omitempty"`
	Error *report.Error         `json:"error,omitempty"`
}

// Neighbour is one neighbour entry of the node for a pod IP.
type Neighbour struct {
	IP     string `json:"ip"`
	Dev    string `json:"dev"`
	State  string `json:"state"`
	LLAddr string `json:"lladdr,omitempty"`
}

type Plugin struct{}

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Rules: map[string]contract.Rule{
			"proxy-arp":          proxyARP,
			"rp-filter":          rpFilter,
			"route":              route,
			"netfilter":          netfilterRules,
			"veth":               vethRule,
			"conntrack-pressure": conntrackPressure,
			"felix":              felixVerdict,
		},
		Analysis: &analysis,
		NodeSide: podArgs,
	})
}
