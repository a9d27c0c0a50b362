// Package drops is the kernel's own word on lost packets: during the probe window a BPF
// program on the skb:kfree_skb tracepoint counts, in the kernel, every packet dropped in
// the pod's network namespace (and the node's, for the pod's own flows, where the prober
// runs on the node) with the drop reason and the code location the kernel gives.
package drops

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "drops"

// MaxDrops caps the drops a section lists (distinct facts, after ephemeral ports are
// folded); the rest are counted in Total.
const MaxDrops = 200

// Section is the stored shape of sections.drops (docs/sections/drops.md).
type Section struct {
	// Watch names the hook the drops were counted at: "tp_btf/kfree_skb"; empty when
	// there was no watch (then Unavailable says why).
	Watch string `json:"watch,omitempty"`
	// Reasons tells whether the kernel gives drop reasons (Linux 5.17 and later).
	Reasons bool `json:"reasons"`
	// Unavailable says, once, why drops could not be watched and what would allow it.
	Unavailable *Unavailable `json:"unavailable,omitempty"`
	// Namespaces are the network namespaces watched: "pod" (the prober's own, or the one
	// it entered) and "node" (the node's, for the pod's own flows).
	Namespaces []Namespace `json:"namespaces,omitempty"`
	// NamespaceErrors says why a namespace that should be watched is not (the node's,
	// when the prober could not find it).
	NamespaceErrors map[string]string `json:"namespaceErrors,omitempty"`
	WindowMS        int64             `json:"windowMs"`
	// Drops are the drops on watched flows, by namespace, flow, reason and location.
	Drops     []Drop `json:"drops"`
	Total     int    `json:"total"`
	Truncated bool   `json:"truncated,omitempty"`
	// Unwatched counts drops in a watched namespace that were on no watched flow (another
	// pod's packets on the node, traffic of no probe); Lost, drops the kernel could not
	// count because the map was full.
	Unwatched int64 `json:"unwatched"`
	Lost      int64 `json:"lost,omitempty"`
	// Symbols says how locations were named: "kallsyms", or why they are "?" (a
	// /proc/kallsyms without addresses: it needs CAP_SYSLOG).
	Symbols string `json:"symbols,omitempty"`
}

// Unavailable is why there is no watch: Need names what is missing ("btf",
// "capabilities", "kernel"), Message says it in words with what would enable it.
type Unavailable struct {
	Need    string        `json:"need"`
	Message string        `json:"message"`
	Error   *report.Error `json:"error,omitempty"`
}

// Namespace is one watched network namespace.
type Namespace struct {
	Role  string `json:"role"`
	Inode uint64 `json:"inode"`
}

// Drop is one kind of drop on one flow.
type Drop struct {
	// Netns is where it happened: "pod" or "node".
	Netns string `json:"netns"`
	// Dir is the packet's direction as the pod sees it: "out" (sent by the pod), "in"
	// (to the pod); "" for a packet that names only a probe target.
	Dir   string `json:"dir"`
	Proto string `json:"proto"`
	// Local is the pod's address, with the port where the pod is the server
	// ("10.244.0.5:8080"); Remote the other end, with the port where the pod is the
	// client ("10.96.0.1:443"). Ephemeral ports are folded away so flows line up.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Reason is the kernel's skb_drop_reason name without its prefix ("NETFILTER_DROP"),
	// named from the running kernel's BTF; "" before Linux 5.17.
	Reason string `json:"reason,omitempty"`
	// Location is the kernel function that dropped it (from /proc/kallsyms), "?" where
	// addresses are hidden.
	Location string `json:"location"`
	// Hook is the netfilter hook (prerouting, input, forward, output, postrouting) for a
	// netfilter verdict, read from the drop's kernel stack.
	Hook  string `json:"hook,omitempty"`
	Count int64  `json:"count"`
	// Flows is how many distinct flows (ephemeral ports) the count covers.
	Flows int `json:"flows"`
	// Stack is the kernel stack of one such drop, from the location outwards.
	Stack []string `json:"stack,omitempty"`
}

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules:     map[string]contract.Rule{"on-flow": dropRule},
		Analysis:  &analysis,
		NodeWatch: joinNode,
	})
}

// Place is where a drop happened, as a key part: "NETFILTER_DROP@nf_hook_slow:output".
func (d Drop) Place() string {
	r := d.Reason
	if r == "" {
		r = "drop"
	}
	p := r + "@" + d.Location
	if d.Hook != "" {
		p += ":" + d.Hook
	}
	return p
}

// Flow is the flow as a key part, in the packet's direction: "10.0.0.2->10.96.0.1:443".
func (d Drop) Flow() string {
	if d.Dir == "in" {
		return d.Remote + "->" + d.Local
	}
	return d.Local + "->" + d.Remote
}

// Key is the drop's fact key: "pod/tcp/10.0.0.2->10.96.0.1:443/NETFILTER_DROP@nf_hook_slow:output".
func (d Drop) Key() string {
	return d.Netns + "/" + d.Proto + "/" + d.Flow() + "/" + d.Place()
}

// Normal tells whether the drop is the TCP or UDP state machine's ordinary answer rather
// than a lost packet: a segment for a socket that is gone or closing (the prober closes
// its sockets as soon as a probe is decided, so late SYN-ACKs and FINs meet closed
// sockets), a segment outside the window, or a packet for a port nobody listens on (a
// reset or port-unreachable was sent back, so the sender was told). Every probe run has
// some of these, in every pod: they are shown, never a difference.
func (d Drop) Normal() bool {
	switch d.Reason {
	case "NO_SOCKET", "SOCKET_CLOSE", "TCP_CLOSE", "TCP_OLD_DATA", "TCP_OLD_SEQUENCE", "TCP_INVALID_SEQUENCE",
		"TCP_RESET", "TCP_OLD_ACK", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA", "TCP_FLAGS", "TCP_ZEROWINDOW",
		"TCP_OFOMERGE", "TCP_OFO_DROP", "TCP_RFC7323_PAWS", "TCP_RFC7323_TSECR", "TCP_INVALID_ACK_SEQUENCE",
		"TCP_ABORT_ON_DATA", "TCP_INVALID_END_SEQUENCE", "TCP_RFC7323_PAWS_ACK",
		"QUEUE_PURGE": // a closed socket's queues freed
		return true
	}
	if strings.HasSuffix(d.Location, "_rtm_getroute") {
		// The prober's own route lookups (ip route get) build a packet the kernel frees
		// when the lookup fails: no traffic was lost.
		return true
	}
	switch d.Reason {
	case "", "NOT_SPECIFIED":
		// The TCP receive path frees what its state machine discards without naming a
		// reason (before 5.17 nothing has one): a segment for a socket in TIME_WAIT.
		return strings.HasPrefix(d.Location, "tcp_")
	}
	return false
}

func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	watch := s.Watch
	switch {
	case s.Unavailable != nil:
		watch = "unavailable: " + s.Unavailable.Need
	case !s.Reasons:
		watch += " (no reasons: kernel before 5.17)"
	}
	out = append(out, probe.Fact{Key: "watch", Value: watch, Kind: probe.ShowOnly})
	if s.Unavailable != nil {
		return out
	}
	type agg struct {
		count  int64
		normal bool
	}
	byKey := map[string]*agg{}
	for _, d := range s.Drops {
		k := d.Key()
		a := byKey[k]
		if a == nil {
			a = &agg{normal: d.Normal()}
			byKey[k] = a
		}
		a.count += d.Count
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind := probe.Counter
		if byKey[k].normal {
			kind = probe.ShowOnly
		}
		out = append(out, probe.Fact{Key: "drop/" + k, Value: strconv.FormatInt(byKey[k].count, 10), Kind: kind})
	}
	out = append(out, probe.Fact{Key: "unwatched", Value: strconv.FormatInt(s.Unwatched, 10), Kind: probe.ShowOnly})
	if s.Truncated {
		out = append(out, probe.Fact{Key: "total", Value: fmt.Sprint(s.Total), Kind: probe.ShowOnly})
	}
	return out
}
