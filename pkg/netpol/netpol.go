package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Direction is the side of a flow a policy is checked at.
type Direction string

const (
	Egress  Direction = "egress"
	Ingress Direction = "ingress"
)

// NamedPort is a container port of a pod; policies may name it.
type NamedPort struct {
	Name     string          `json:"name"`
	Port     int             `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
}

// Endpoint is one end of a flow as policies see it. A pod has Namespace and Labels; an
// address outside the cluster has neither (Pod false). Unknown is set when it could not be
// told whether the address is a pod (the lookup was refused): selectors then cannot be
// decided, address blocks still can.
type Endpoint struct {
	Pod       bool              `json:"pod"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// NamespaceLabels are the namespace's labels; nil when they could not be read, and then
	// only kubernetes.io/metadata.name (which the API server sets to the name) is known.
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`
	ServiceAccount  string            `json:"serviceAccount,omitempty"`
	HostNetwork     bool              `json:"hostNetwork,omitempty"`
	Ports           []NamedPort       `json:"ports,omitempty"`
	Unknown         string            `json:"unknown,omitempty"`
}

// Flow is one probe's traffic: from Src to the address Dst.IP, protocol and port as the
// policy sees them (after a Service's DNAT: the endpoint's address and target port).
type Flow struct {
	Src      Endpoint
	SrcIP    netip.Addr
	Dst      Endpoint
	DstIP    netip.Addr
	Protocol corev1.Protocol // TCP, UDP, SCTP; "ICMP" for pings
	Port     int
}

// Decision is what the policies do with a flow at one side.
type Decision int

const (
	Allowed Decision = iota
	Denied
	Undecided // some policy could not be evaluated, or a selector needs facts nobody could read
)

func (d Decision) String() string {
	return [...]string{"allowed", "denied", "unknown"}[d]
}

// Ref names a policy and, where one decided, its rule (1-based; 0: the policy as a whole).
type Ref struct {
	Kind      string `json:"kind"` // NetworkPolicy, Calico NetworkPolicy, Calico GlobalNetworkPolicy
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Rule      int    `json:"rule,omitempty"`
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Verdict is the decision at one side of a flow, and why.
type Verdict struct {
	Direction Direction
	Decision  Decision
	// Isolated: some policy selects the endpoint for this direction (else all is allowed).
	Isolated bool
	// By: allowed, the policy and rule that admit (the first by name); denied, every
	// policy that selects the endpoint for the direction (none of them admits), or the
	// Calico policy whose Deny rule matched; undecided, the policies that could not be
	// decided.
	By []Ref
	// Admits: for a denial, what each deciding policy does admit, in words.
	Admits []string
	// SelectKeys are the label keys of the selecting policies' pod selectors (why the
	// endpoint is selected); PeerKeys and PeerNSKeys those the rules examine of the
	// other end's pod and namespace labels (why it is not admitted).
	SelectKeys, PeerKeys, PeerNSKeys []string
	// PeerBlocks: the rules admit address blocks, so the other end's address decides.
	PeerBlocks bool
	// Reason says why the verdict is undecided.
	Reason string
	// Explicit: a Deny rule matched (Calico), rather than nothing admitting.
	Explicit bool
}

// Policy is a Kubernetes NetworkPolicy reduced to what decides traffic.
type Policy struct {
	Namespace string                         `json:"namespace"`
	Name      string                         `json:"name"`
	Spec      networkingv1.NetworkPolicySpec `json:"spec"`
}

// FromAPI reduces API objects to Policies.
func FromAPI(nps []networkingv1.NetworkPolicy) []Policy {
	out := make([]Policy, 0, len(nps))
	for _, np := range nps {
		out = append(out, Policy{Namespace: np.Namespace, Name: np.Name, Spec: np.Spec})
	}
	return out
}

func (p Policy) ref(rule int) Ref {
	return Ref{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name, Rule: rule}
}

// Types are the directions the policy isolates: policyTypes, or when absent Ingress,
// plus Egress when it has egress rules (the API's default).
func (p Policy) Types() []Direction {
	if len(p.Spec.PolicyTypes) == 0 {
		out := []Direction{Ingress}
		if len(p.Spec.Egress) > 0 {
			out = append(out, Egress)
		}
		return out
	}
	var out []Direction
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			out = append(out, Ingress)
		case networkingv1.PolicyTypeEgress:
			out = append(out, Egress)
		}
	}
	return out
}

func (p Policy) has(d Direction) bool {
	for _, t := range p.Types() {
		if t == d {
			return true
		}
	}
	return false
}

// tri is a three-valued match: selectors over facts nobody could read are unknown.
type tri int

const (
	no tri = iota
	yes
	maybe
)

func and(a, b tri) tri {
	if a == no || b == no {
		return no
	}
	if a == maybe || b == maybe {
		return maybe
	}
	return yes
}

func or(a, b tri) tri {
	if a == yes || b == yes {
		return yes
	}
	if a == maybe || b == maybe {
		return maybe
	}
	return no
}

// Selects reports whether the policy's podSelector selects the pod (same namespace).
func (p Policy) Selects(e Endpoint) bool {
	if !e.Pod || e.HostNetwork || e.Namespace != p.Namespace {
		return false
	}
	return matchSelector(&p.Spec.PodSelector, e.Labels) == yes
}

func matchSelector(s *metav1.LabelSelector, l map[string]string) tri {
	if s == nil {
		return yes
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return maybe
	}
	if sel.Matches(labels.Set(l)) {
		return yes
	}
	return no
}

// nsLabels are a namespace's labels, or what is known of them when they could not be read.
func nsLabels(e Endpoint) (map[string]string, bool) {
	if e.NamespaceLabels != nil {
		return e.NamespaceLabels, true
	}
	return map[string]string{"kubernetes.io/metadata.name": e.Namespace}, false
}

func matchNamespace(s *metav1.LabelSelector, e Endpoint) tri {
	l, known := nsLabels(e)
	m := matchSelector(s, l)
	if !known && m == no {
		// Only the name label is known; another label might have matched.
		for _, k := range selectorKeys(s) {
			if k != "kubernetes.io/metadata.name" {
				return maybe
			}
		}
	}
	return m
}

// matchPeer: does the peer (a from/to entry of a policy in namespace ns) match the other
// end of the flow, which is e at address ip?
func matchPeer(peer networkingv1.NetworkPolicyPeer, ns string, e Endpoint, ip netip.Addr) tri {
	if b := peer.IPBlock; b != nil {
		return matchBlock(b, ip)
	}
	if peer.PodSelector == nil && peer.NamespaceSelector == nil {
		return yes
	}
	if e.Unknown != "" {
		return maybe
	}
	if !e.Pod || e.HostNetwork {
		return no
	}
	var nsMatch tri
	if peer.NamespaceSelector != nil {
		nsMatch = matchNamespace(peer.NamespaceSelector, e)
	} else if e.Namespace == ns {
		nsMatch = yes
	}
	if peer.PodSelector == nil {
		return nsMatch
	}
	return and(nsMatch, matchSelector(peer.PodSelector, e.Labels))
}

func matchBlock(b *networkingv1.IPBlock, ip netip.Addr) tri {
	if !ip.IsValid() {
		return maybe
	}
	ip = ip.Unmap()
	pfx, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !pfx.Contains(ip) {
		return no
	}
	for _, ex := range b.Except {
		if x, err := netip.ParsePrefix(ex); err == nil && x.Contains(ip) {
			return no
		}
	}
	return yes
}

// matchPorts: an empty list admits every port and protocol; a port is admitted by an entry
// of its protocol (TCP when unset) whose port is unset, equal, within port..endPort, or a
// name the destination pod gives that port.
func matchPorts(ports []networkingv1.NetworkPolicyPort, f Flow) tri {
	if len(ports) == 0 {
		return yes
	}
	out := no
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != f.Protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return yes
		case p.Port.Type == 0: // an int
			lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
			if p.EndPort != nil {
				hi = int(*p.EndPort)
			}
			if f.Port >= lo && f.Port <= hi {
				return yes
			}
		default:
			if f.Dst.Unknown != "" {
				out = maybe
				continue
			}
			for _, np := range f.Dst.Ports {
				if np.Name == p.Port.StrVal && np.Port == f.Port && protoOr(np.Protocol) == proto {
					return yes
				}
			}
		}
	}
	return out
}

func protoOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// Evaluate decides the flow at one side under Kubernetes NetworkPolicy semantics: the
// endpoint (the source for egress, the destination for ingress) is isolated when a policy
// of its namespace selects it for that direction; then the flow passes only when a rule of
// one of those policies admits it (ports and peers both); not isolated, all passes.
func Evaluate(policies []Policy, f Flow, d Direction) Verdict {
	self, other, otherIP := f.Src, f.Dst, f.DstIP
	if d == Ingress {
		self, other, otherIP = f.Dst, f.Src, f.SrcIP
	}
	v := Verdict{Direction: d}
	if !self.Pod || self.HostNetwork {
		return v // policies select pods on the pod network only
	}
	sorted := append([]Policy(nil), policies...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Namespace != sorted[j].Namespace {
			return sorted[i].Namespace < sorted[j].Namespace
		}
		return sorted[i].Name < sorted[j].Name
	})
	var selecting []Policy
	for _, p := range sorted {
		if p.has(d) && p.Selects(self) {
			selecting = append(selecting, p)
		}
	}
	if len(selecting) == 0 {
		return v
	}
	v.Isolated = true
	var undecided []Ref
	for _, p := range selecting {
		for n, r := range rulesOf(p, d) {
			m := matchPorts(r.ports, f)
			if m != no {
				peers := no
				if len(r.peers) == 0 {
					peers = yes
				}
				for _, peer := range r.peers {
					peers = or(peers, matchPeer(peer, p.Namespace, other, otherIP))
				}
				m = and(m, peers)
			}
			switch m {
			case yes:
				v.By = []Ref{p.ref(n + 1)}
				return v
			case maybe:
				undecided = append(undecided, p.ref(n+1))
			}
		}
	}
	if len(undecided) > 0 {
		v.Decision, v.By = Undecided, undecided
		v.Reason = "a rule's selector needs labels that could not be read"
		if other.Unknown != "" {
			v.Reason = other.Unknown
		}
		return v
	}
	v.Decision = Denied
	for _, p := range selecting {
		v.By = append(v.By, p.ref(0))
		v.Admits = append(v.Admits, p.ref(0).String()+" "+admits(p, d))
		v.SelectKeys = append(v.SelectKeys, selectorKeys(&p.Spec.PodSelector)...)
		for _, r := range rulesOf(p, d) {
			for _, peer := range r.peers {
				if peer.IPBlock != nil {
					v.PeerBlocks = true
				}
				if peer.PodSelector != nil {
					v.PeerKeys = append(v.PeerKeys, selectorKeys(peer.PodSelector)...)
				}
				if peer.NamespaceSelector != nil {
					v.PeerNSKeys = append(v.PeerNSKeys, selectorKeys(peer.NamespaceSelector)...)
				}
			}
		}
	}
	v.SelectKeys, v.PeerKeys, v.PeerNSKeys = uniq(v.SelectKeys), uniq(v.PeerKeys), uniq(v.PeerNSKeys)
	return v
}

type rule struct {
	ports []networkingv1.NetworkPolicyPort
	peers []networkingv1.NetworkPolicyPeer
}

func rulesOf(p Policy, d Direction) []rule {
	var out []rule
	if d == Egress {
		for _, r := range p.Spec.Egress {
			out = append(out, rule{r.Ports, r.To})
		}
		return out
	}
	for _, r := range p.Spec.Ingress {
		out = append(out, rule{r.Ports, r.From})
	}
	return out
}

func selectorKeys(s *metav1.LabelSelector) []string {
	if s == nil {
		return nil
	}
	var out []string
	for k := range s.MatchLabels {
		out = append(out, k)
	}
	for _, e := range s.MatchExpressions {
		out = append(out, e.Key)
	}
	return uniq(out)
}

func uniq(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// admits words what a policy admits in a direction: "admits nothing" (it isolates only),
// or "admits only TCP 5432 from pods with role=stable".
func admits(p Policy, d Direction) string {
	selects := fmt.Sprintf("selects all pods of %s for %s", p.Namespace, d)
	if len(p.Spec.PodSelector.MatchLabels)+len(p.Spec.PodSelector.MatchExpressions) > 0 {
		selects = fmt.Sprintf("selects pods with %s for %s", describeSelector(&p.Spec.PodSelector, ""), d)
	}
	rules := rulesOf(p, d)
	if len(rules) == 0 {
		return selects + " and admits nothing"
	}
	word := "to"
	if d == Ingress {
		word = "from"
	}
	var parts []string
	for _, r := range rules {
		s := describePorts(r.ports)
		if s == "" {
			s = "traffic"
		}
		if len(r.peers) > 0 {
			var ps []string
			for _, peer := range r.peers {
				ps = append(ps, describePeer(peer))
			}
			s += " " + word + " " + strings.Join(ps, " or ")
		} else {
			s += " " + word + " anywhere"
		}
		parts = append(parts, s)
	}
	return selects + " and admits only " + strings.Join(parts, "; ")
}

func describePorts(ports []networkingv1.NetworkPolicyPort) string {
	if len(ports) == 0 {
		return ""
	}
	var out []string
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		switch {
		case p.Port == nil:
			out = append(out, proto)
		case p.Port.Type == 0 && p.EndPort != nil:
			out = append(out, fmt.Sprintf("%s %d-%d", proto, p.Port.IntVal, *p.EndPort))
		case p.Port.Type == 0:
			out = append(out, fmt.Sprintf("%s %d", proto, p.Port.IntVal))
		default:
			out = append(out, fmt.Sprintf("%s port %q", proto, p.Port.StrVal))
		}
	}
	return strings.Join(out, ", ")
}

func describePeer(p networkingv1.NetworkPolicyPeer) string {
	if b := p.IPBlock; b != nil {
		s := b.CIDR
		if len(b.Except) > 0 {
			s += " except " + strings.Join(b.Except, ", ")
		}
		return s
	}
	switch {
	case p.PodSelector != nil && p.NamespaceSelector != nil:
		return "pods with " + describeSelector(p.PodSelector, "any labels") + " in namespaces with " + describeSelector(p.NamespaceSelector, "any labels")
	case p.NamespaceSelector != nil:
		return "pods in namespaces with " + describeSelector(p.NamespaceSelector, "any labels")
	case p.PodSelector != nil:
		return "pods with " + describeSelector(p.PodSelector, "any labels") + " of its namespace"
	}
	return "anywhere"
}

func describeSelector(s *metav1.LabelSelector, empty string) string {
	if s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return empty
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "an invalid selector"
	}
	return sel.String()
}
