package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// CalicoPolicy is a projectcalico.org/v3 NetworkPolicy or GlobalNetworkPolicy (the same
// spec as its crd.projectcalico.org/v1 form), reduced to what decides traffic.
type CalicoPolicy struct {
	Kind      string     `json:"kind"` // NetworkPolicy, GlobalNetworkPolicy
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name"`
	Spec      CalicoSpec `json:"spec"`
}

// CalicoSpec is the policy's spec; fields netdiff does not evaluate are kept raw in
// Unknown so a policy that uses them is said to be unevaluable.
type CalicoSpec struct {
	Order             *float64     `json:"order,omitempty"`
	Tier              string       `json:"tier,omitempty"`
	Selector          string       `json:"selector,omitempty"`
	NamespaceSelector string       `json:"namespaceSelector,omitempty"`
	Types             []string     `json:"types,omitempty"`
	Ingress           []CalicoRule `json:"ingress,omitempty"`
	Egress            []CalicoRule `json:"egress,omitempty"`
	// ServiceAccountSelector and the like: present means unevaluable here.
	ServiceAccountSelector string `json:"serviceAccountSelector,omitempty"`
}

// CalicoRule is one rule: the first rule that matches decides with its action.
type CalicoRule struct {
	Action      string          `json:"action"` // Allow, Deny, Log, Pass
	Protocol    json.RawMessage `json:"protocol,omitempty"`
	NotProtocol json.RawMessage `json:"notProtocol,omitempty"`
	IPVersion   *int            `json:"ipVersion,omitempty"`
	Source      CalicoEntity    `json:"source,omitempty"`
	Destination CalicoEntity    `json:"destination,omitempty"`
	ICMP        json.RawMessage `json:"icmp,omitempty"`
	NotICMP     json.RawMessage `json:"notICMP,omitempty"`
	HTTP        json.RawMessage `json:"http,omitempty"`
}

// CalicoEntity is a rule's source or destination match.
type CalicoEntity struct {
	Nets              []string          `json:"nets,omitempty"`
	NotNets           []string          `json:"notNets,omitempty"`
	Selector          string            `json:"selector,omitempty"`
	NotSelector       string            `json:"notSelector,omitempty"`
	NamespaceSelector string            `json:"namespaceSelector,omitempty"`
	Ports             []json.RawMessage `json:"ports,omitempty"`
	NotPorts          []json.RawMessage `json:"notPorts,omitempty"`
	ServiceAccounts   json.RawMessage   `json:"serviceAccounts,omitempty"`
	Services          json.RawMessage   `json:"services,omitempty"`
}

// Ref names the policy as verdicts do.
func (p CalicoPolicy) Ref() Ref { return p.ref(0) }

func (p CalicoPolicy) ref(rule int) Ref {
	return Ref{Kind: "Calico " + p.Kind, Namespace: p.Namespace, Name: p.Name, Rule: rule}
}

// order is the policy's order; none sorts last, as in Calico.
func (p CalicoPolicy) order() float64 {
	if p.Spec.Order == nil {
		return 1e300
	}
	return *p.Spec.Order
}

func (p CalicoPolicy) has(d Direction) bool {
	if len(p.Spec.Types) == 0 {
		return d == Ingress || len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.Types {
		if strings.EqualFold(t, string(d)) {
			return true
		}
	}
	return false
}

// calicoLabels are an endpoint's labels as Calico's selectors see them: the pod's, plus
// the namespace and service account Calico adds.
func calicoLabels(e Endpoint) map[string]string {
	out := map[string]string{"projectcalico.org/namespace": e.Namespace, "projectcalico.org/orchestrator": "k8s"}
	if e.ServiceAccount != "" {
		out["projectcalico.org/serviceaccount"] = e.ServiceAccount
	}
	for k, v := range e.Labels {
		out[k] = v
	}
	return out
}

func calicoNSLabels(e Endpoint) (map[string]string, bool) {
	l, known := nsLabels(e)
	out := map[string]string{"projectcalico.org/name": e.Namespace}
	for k, v := range l {
		out[k] = v
	}
	return out, known
}

// unevaluable says what of the policy netdiff cannot evaluate ("" when all of it).
func (p CalicoPolicy) unevaluable() string {
	if p.Spec.Tier != "" && p.Spec.Tier != "default" {
		return fmt.Sprintf("it is in tier %s, whose order netdiff does not read", p.Spec.Tier)
	}
	if p.Spec.ServiceAccountSelector != "" {
		return "it selects by serviceAccountSelector"
	}
	for _, s := range []string{p.Spec.Selector, p.Spec.NamespaceSelector} {
		if _, err := ParseSelector(s); err != nil {
			return err.Error()
		}
	}
	for _, rs := range [][]CalicoRule{p.Spec.Ingress, p.Spec.Egress} {
		for _, r := range rs {
			switch {
			case len(r.HTTP) > 0:
				return "a rule matches HTTP"
			case len(r.ServiceAccountsOrServices()) > 0:
				return "a rule matches service accounts or services"
			}
			for _, e := range []CalicoEntity{r.Source, r.Destination} {
				for _, s := range []string{e.Selector, e.NotSelector, e.NamespaceSelector} {
					if _, err := ParseSelector(s); err != nil {
						return err.Error()
					}
				}
			}
		}
	}
	return ""
}

// ServiceAccountsOrServices is what the rule matches by service account or Service.
func (r CalicoRule) ServiceAccountsOrServices() string {
	for _, raw := range []json.RawMessage{r.Source.ServiceAccounts, r.Source.Services, r.Destination.ServiceAccounts, r.Destination.Services} {
		if len(raw) > 0 && string(raw) != "null" {
			return string(raw)
		}
	}
	return ""
}

// selects: the policy applies to the endpoint (a namespaced policy to its namespace's pods).
func (p CalicoPolicy) selects(e Endpoint) bool {
	if !e.Pod || e.HostNetwork || e.Unknown != "" {
		return false
	}
	if p.Kind == "NetworkPolicy" && p.Namespace != e.Namespace {
		return false
	}
	sel, err := ParseSelector(p.Spec.Selector)
	if err != nil || !sel.Matches(calicoLabels(e)) {
		return false
	}
	if p.Kind == "GlobalNetworkPolicy" && p.Spec.NamespaceSelector != "" {
		ns, err := ParseSelector(p.Spec.NamespaceSelector)
		l, _ := calicoNSLabels(e)
		return err == nil && ns.Matches(l)
	}
	return true
}

// mightSelect: the policy's own selectors cannot be parsed here, so it may select the
// endpoint; its turn then makes the verdict unknown instead of skipping it.
func (p CalicoPolicy) mightSelect(e Endpoint) bool {
	if p.Kind == "NetworkPolicy" && p.Namespace != e.Namespace {
		return false
	}
	_, err1 := ParseSelector(p.Spec.Selector)
	_, err2 := ParseSelector(p.Spec.NamespaceSelector)
	return err1 != nil || err2 != nil
}

// Selects reports whether the policy applies to the endpoint, or may (its selector is
// beyond what netdiff parses).
func (p CalicoPolicy) Selects(e Endpoint) bool { return p.selects(e) || p.mightSelect(e) }

// matchEntity: does the entity match the endpoint e at ip, port (ports are destination
// ports; a source entity's ports are source ports, which probes do not fix: unknown)?
func (p CalicoPolicy) matchEntity(en CalicoEntity, e Endpoint, ip netip.Addr, port int, dest bool, proto string) tri {
	m := yes
	if len(en.Nets) > 0 {
		in := no
		for _, n := range en.Nets {
			if pf, err := netip.ParsePrefix(n); err == nil && ip.IsValid() && pf.Contains(ip.Unmap()) {
				in = yes
			}
		}
		if !ip.IsValid() {
			in = maybe
		}
		m = and(m, in)
	}
	for _, n := range en.NotNets {
		if pf, err := netip.ParsePrefix(n); err == nil && ip.IsValid() && pf.Contains(ip.Unmap()) {
			m = no
		}
	}
	if en.Selector != "" || en.NotSelector != "" || en.NamespaceSelector != "" {
		switch {
		case e.Unknown != "":
			m = and(m, maybe)
		case !e.Pod || e.HostNetwork:
			m = no
		default:
			l := calicoLabels(e)
			if en.Selector != "" {
				s, _ := ParseSelector(en.Selector)
				if !s.Matches(l) {
					m = no
				}
			}
			if en.NotSelector != "" {
				s, _ := ParseSelector(en.NotSelector)
				if s.Matches(l) {
					m = no
				}
			}
			switch {
			case en.NamespaceSelector != "":
				s, _ := ParseSelector(en.NamespaceSelector)
				nl, known := calicoNSLabels(e)
				if !s.Matches(nl) {
					if known {
						m = no
					} else {
						m = and(m, maybe)
					}
				}
			case p.Kind == "NetworkPolicy" && e.Namespace != p.Namespace:
				// A namespaced policy's selector means pods of its own namespace.
				m = no
			}
		}
	}
	if len(en.Ports)+len(en.NotPorts) > 0 {
		if !dest {
			return and(m, maybe)
		}
		if len(en.Ports) > 0 {
			in := no
			for _, raw := range en.Ports {
				in = or(in, matchCalicoPort(raw, port, e, proto))
			}
			m = and(m, in)
		}
		for _, raw := range en.NotPorts {
			if matchCalicoPort(raw, port, e, proto) == yes {
				m = no
			}
		}
	}
	return m
}

// matchCalicoPort: 80, "80", "1000:2000", or a named port of the destination pod.
func matchCalicoPort(raw json.RawMessage, port int, e Endpoint, proto string) tri {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return boolTri(n == port)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return maybe
	}
	if lo, hi, ok := strings.Cut(s, ":"); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		return boolTri(err1 == nil && err2 == nil && port >= a && port <= b)
	}
	if v, err := strconv.Atoi(s); err == nil {
		return boolTri(v == port)
	}
	if e.Unknown != "" {
		return maybe
	}
	for _, np := range e.Ports {
		if np.Name == s && np.Port == port && strings.EqualFold(string(protoOr(np.Protocol)), proto) {
			return yes
		}
	}
	return no
}

func boolTri(b bool) tri {
	if b {
		return yes
	}
	return no
}

func matchProto(raw json.RawMessage, proto string) tri {
	if len(raw) == 0 || string(raw) == "null" {
		return yes
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return boolTri(strings.EqualFold(s, proto))
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return boolTri(map[int]string{1: "ICMP", 6: "TCP", 17: "UDP", 132: "SCTP"}[n] == strings.ToUpper(proto))
	}
	return maybe
}

// entry is one policy in Calico's evaluation order: Calico's own, and Kubernetes
// NetworkPolicies, which Calico renders as order-1000 policies of allow rules.
type entry struct {
	order float64
	name  string
	cal   *CalicoPolicy
	k8s   *Policy
}

// EvaluateCalico decides the flow at one side as Felix does when Calico's own policies
// exist beside Kubernetes': the policies that apply to the endpoint in that direction, in
// order (then name), the first rule that matches deciding by its action (Allow, Deny;
// Pass ends the tier's policies, Log goes on); selected and nothing matched is a deny at
// the end of the tier; selected by none, all passes.
func EvaluateCalico(cal []CalicoPolicy, k8s []Policy, f Flow, d Direction) Verdict {
	self := f.Src
	if d == Ingress {
		self = f.Dst
	}
	v := Verdict{Direction: d}
	if !self.Pod || self.HostNetwork {
		return v
	}
	var es []entry
	for i := range cal {
		if cal[i].has(d) && (cal[i].selects(self) || cal[i].mightSelect(self)) {
			es = append(es, entry{order: cal[i].order(), name: cal[i].Namespace + "/" + cal[i].Name, cal: &cal[i]})
		}
	}
	for i := range k8s {
		if k8s[i].has(d) && k8s[i].Selects(self) {
			es = append(es, entry{order: 1000, name: "knp.default." + k8s[i].Name, k8s: &k8s[i]})
		}
	}
	if len(es) == 0 {
		return v
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].order != es[j].order {
			return es[i].order < es[j].order
		}
		return es[i].name < es[j].name
	})
	v.Isolated = true
	proto := strings.ToUpper(string(f.Protocol))
	for _, e := range es {
		if e.k8s != nil {
			kv := Evaluate([]Policy{*e.k8s}, f, d)
			switch kv.Decision {
			case Allowed:
				return kv
			case Undecided:
				return kv
			}
			continue
		}
		p := e.cal
		if why := p.unevaluable(); why != "" {
			v.Decision, v.By = Undecided, []Ref{p.ref(0)}
			v.Reason = fmt.Sprintf("%s cannot be evaluated: %s", p.ref(0), why)
			return v
		}
		rules := p.Spec.Ingress
		if d == Egress {
			rules = p.Spec.Egress
		}
		for n, r := range rules {
			m := matchProto(r.Protocol, proto)
			if len(r.NotProtocol) > 0 && matchProto(r.NotProtocol, proto) == yes {
				m = no
			}
			if r.IPVersion != nil && f.DstIP.IsValid() && (*r.IPVersion == 4) != f.DstIP.Unmap().Is4() {
				m = no
			}
			if len(r.ICMP)+len(r.NotICMP) > 0 && m != no {
				if proto != "ICMP" {
					m = no
				} else {
					m = and(m, maybe) // type and code are not in the flow
				}
			}
			m = and(m, p.matchEntity(r.Source, f.Src, f.SrcIP, 0, false, proto))
			m = and(m, p.matchEntity(r.Destination, f.Dst, f.DstIP, f.Port, true, proto))
			switch {
			case m == no:
				continue
			case m == maybe:
				v.Decision, v.By = Undecided, []Ref{p.ref(n + 1)}
				v.Reason = fmt.Sprintf("%s rule %d needs facts that could not be read", p.ref(0), n+1)
				return v
			}
			switch r.Action {
			case "Allow":
				v.By = []Ref{p.ref(n + 1)}
				return v
			case "Deny":
				v.Decision, v.By, v.Explicit = Denied, []Ref{p.ref(n + 1)}, true
				v.Admits = []string{fmt.Sprintf("%s (order %s) denies %s with rule %d", p.ref(0), orderWord(p), d, n+1)}
				v.SelectKeys, v.PeerKeys, v.PeerNSKeys = p.keys(d, r)
				return v
			case "Pass":
				// The rest of the tier is skipped: the profiles (allow) decide.
				v.By = []Ref{p.ref(n + 1)}
				return v
			}
		}
	}
	// Selected, nothing matched: the end of the tier drops it.
	v.Decision = Denied
	for _, e := range es {
		if e.cal != nil {
			v.By = append(v.By, e.cal.ref(0))
			v.Admits = append(v.Admits, fmt.Sprintf("%s (order %s) selects %s and no rule of it allows this", e.cal.ref(0), orderWord(e.cal), selWord(e.cal.Spec.Selector)))
			s, pk, nk := e.cal.keys(d, CalicoRule{})
			v.SelectKeys, v.PeerKeys, v.PeerNSKeys = append(v.SelectKeys, s...), append(v.PeerKeys, pk...), append(v.PeerNSKeys, nk...)
		} else {
			kv := Evaluate([]Policy{*e.k8s}, f, d)
			v.By = append(v.By, kv.By...)
			v.Admits = append(v.Admits, kv.Admits...)
			v.SelectKeys, v.PeerKeys, v.PeerNSKeys = append(v.SelectKeys, kv.SelectKeys...), append(v.PeerKeys, kv.PeerKeys...), append(v.PeerNSKeys, kv.PeerNSKeys...)
			v.PeerBlocks = v.PeerBlocks || kv.PeerBlocks
		}
	}
	v.SelectKeys, v.PeerKeys, v.PeerNSKeys = uniq(v.SelectKeys), uniq(v.PeerKeys), uniq(v.PeerNSKeys)
	return v
}

func orderWord(p *CalicoPolicy) string {
	if p.Spec.Order == nil {
		return "none"
	}
	return strconv.FormatFloat(*p.Spec.Order, 'g', -1, 64)
}

func selWord(s string) string {
	if strings.TrimSpace(s) == "" {
		return "all()"
	}
	return s
}

// keys: the policy's selector keys, and those of the rule's other end.
func (p *CalicoPolicy) keys(d Direction, r CalicoRule) (sel, peer, ns []string) {
	if s, err := ParseSelector(p.Spec.Selector); err == nil {
		sel = s.Keys()
	}
	other := r.Source
	if d == Egress {
		// An egress rule's source is the pod itself: its selector is why it is chosen.
		other = r.Destination
		for _, x := range []string{r.Source.Selector, r.Source.NotSelector} {
			if s, err := ParseSelector(x); err == nil && x != "" {
				sel = append(sel, s.Keys()...)
			}
		}
	}
	for _, x := range []string{other.Selector, other.NotSelector} {
		if s, err := ParseSelector(x); err == nil && x != "" {
			peer = append(peer, s.Keys()...)
		}
	}
	if s, err := ParseSelector(other.NamespaceSelector); err == nil && other.NamespaceSelector != "" {
		ns = s.Keys()
	}
	return sel, peer, ns
}
