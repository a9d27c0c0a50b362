package netpol

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

func sel(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func tcp(port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(int32(port)))}
}

func pod(ns string, nsLabels map[string]string, kv ...string) Endpoint {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	if nsLabels != nil {
		nsLabels["kubernetes.io/metadata.name"] = ns
	}
	return Endpoint{Pod: true, Namespace: ns, Labels: l, NamespaceLabels: nsLabels}
}

// The Kubernetes documentation's example (concepts/services-networking/network-policies):
// pods role=db in default admit TCP 6379 from 172.17.0.0/16 except 172.17.1.0/24, from
// namespaces project=myproject, and from pods role=frontend of default; they may send TCP
// 5978 to 10.0.0.0/24.
var docExample = Policy{Namespace: "default", Name: "test-network-policy", Spec: networkingv1.NetworkPolicySpec{
	PodSelector: *sel("role", "db"),
	PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
	Ingress: []networkingv1.NetworkPolicyIngressRule{{
		From: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "172.17.0.0/16", Except: []string{"172.17.1.0/24"}}},
			{NamespaceSelector: sel("project", "myproject")},
			{PodSelector: sel("role", "frontend")},
		},
		Ports: []networkingv1.NetworkPolicyPort{tcp(6379)},
	}},
	Egress: []networkingv1.NetworkPolicyEgressRule{{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/24"}}},
		Ports: []networkingv1.NetworkPolicyPort{tcp(5978)},
	}},
}}

var (
	db       = pod("default", map[string]string{}, "role", "db")
	frontend = pod("default", map[string]string{}, "role", "frontend")
	other    = pod("default", map[string]string{}, "role", "other")
	external = Endpoint{}
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestEvaluate(t *testing.T) {
	denyIngress := Policy{Namespace: "default", Name: "default-deny-ingress", Spec: networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	denyEgress := Policy{Namespace: "default", Name: "default-deny-egress", Spec: networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	allowAllIngress := Policy{Namespace: "default", Name: "allow-all-ingress", Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	allowAllEgress := Policy{Namespace: "default", Name: "allow-all-egress", Spec: networkingv1.NetworkPolicySpec{
		Egress: []networkingv1.NetworkPolicyEgressRule{{}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	// The docs' endPort example: TCP 32000-32768 to 10.0.0.0/24.
	endPort := Policy{Namespace: "default", Name: "multi-port-egress", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"), PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/24"}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(32000)), EndPort: ptr(int32(32768))}}}}}}
	// The docs' "and" vs "or" example: one peer with both selectors admits clients of
	// namespaces user=alice only; two peers admit either.
	andPeer := Policy{Namespace: "default", Name: "and", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
			{NamespaceSelector: sel("user", "alice"), PodSelector: sel("role", "client")}}}}}}
	orPeers := Policy{Namespace: "default", Name: "or", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
			{NamespaceSelector: sel("user", "alice")}, {PodSelector: sel("role", "client")}}}}}}
	// Targeting a namespace by name (the docs: kubernetes.io/metadata.name).
	byName := Policy{Namespace: "default", Name: "to-kube-system-dns", Spec: networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("kubernetes.io/metadata.name", "kube-system"), PodSelector: sel("k8s-app", "kube-dns")}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(53))},
				{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(53))}}}}}}
	namedPort := Policy{Namespace: "default", Name: "named", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"),
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromString("redis"))}}}}}}
	implicitTypes := Policy{Namespace: "default", Name: "implicit", Spec: networkingv1.NetworkPolicySpec{
		Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{tcp(443)}}}}}
	ingressOnly := Policy{Namespace: "default", Name: "ingress-only", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db")}}
	otherNS := Policy{Namespace: "prod", Name: "deny", Spec: networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	exprSel := Policy{Namespace: "default", Name: "expr", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: metav1.LabelSelectorOpIn, Values: []string{"db", "cache"}}}},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "track", Operator: metav1.LabelSelectorOpDoesNotExist}}}}}}}}}

	v6 := Policy{Namespace: "default", Name: "v6", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"), PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00:10::/64", Except: []string{"fd00:10::1:0/112"}}}}}}}}
	mixed := Policy{Namespace: "default", Name: "mixed", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "db"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{}, Ports: []networkingv1.NetworkPolicyPort{
			{Protocol: ptr(corev1.ProtocolSCTP), Port: ptr(intstr.FromInt32(9000))},
			{Protocol: ptr(corev1.ProtocolUDP), Port: ptr(intstr.FromInt32(5000)), EndPort: ptr(int32(5010))},
			{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromString("redis"))}}}}}}
	alice := pod("alice-ns", map[string]string{"user": "alice"}, "role", "client")
	aliceOther := pod("alice-ns", map[string]string{"user": "alice"}, "role", "other")
	bob := pod("bob-ns", map[string]string{"user": "bob"}, "role", "client")
	frontendElsewhere := pod("prod", map[string]string{"project": "other"}, "role", "frontend")
	myproject := pod("proj", map[string]string{"project": "myproject"}, "role", "anything")
	dns := pod("kube-system", map[string]string{}, "k8s-app", "kube-dns")
	dbNamed := db
	dbNamed.Ports = []NamedPort{{Name: "redis", Port: 6379, Protocol: corev1.ProtocolTCP}}
	unlabelledNS := pod("alice-ns", nil, "role", "client") // its namespace's labels could not be read
	unknownDst := Endpoint{Unknown: "pods could not be listed: forbidden"}

	cases := []struct {
		name     string
		policies []Policy
		flow     Flow
		dir      Direction
		want     Decision
		by       string // the first deciding policy and rule
	}{
		// Not isolated: all passes.
		{"no policy", nil, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, ""},
		{"policy of another namespace", []Policy{otherNS}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, ""},
		{"egress policy does not isolate ingress", []Policy{denyEgress}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, ""},
		{"not selected by podSelector", []Policy{docExample}, Flow{Src: db, Dst: frontend, Protocol: "TCP", Port: 80}, Ingress, Allowed, ""},
		{"external address is never isolated", []Policy{denyIngress}, Flow{Src: db, Dst: external, DstIP: ip("8.8.8.8"), Protocol: "TCP", Port: 80}, Ingress, Allowed, ""},
		{"hostNetwork pod is not selected", []Policy{denyEgress}, Flow{Src: Endpoint{Pod: true, Namespace: "default", HostNetwork: true}, Dst: db, Protocol: "TCP", Port: 80}, Egress, Allowed, ""},
		// Default deny and allow all (the docs' defaults section).
		{"default deny ingress (empty podSelector selects all)", []Policy{denyIngress}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/default-deny-ingress"},
		{"default deny egress", []Policy{denyEgress}, Flow{Src: db, Dst: frontend, Protocol: "TCP", Port: 80}, Egress, Denied, "NetworkPolicy default/default-deny-egress"},
		{"default deny egress drops DNS", []Policy{denyEgress}, Flow{Src: db, Dst: dns, Protocol: "UDP", Port: 53}, Egress, Denied, "NetworkPolicy default/default-deny-egress"},
		{"allow all ingress beside default deny", []Policy{denyIngress, allowAllIngress}, Flow{Src: other, Dst: db, Protocol: "UDP", Port: 9}, Ingress, Allowed, "NetworkPolicy default/allow-all-ingress rule 1"},
		{"allow all egress beside default deny", []Policy{denyEgress, allowAllEgress}, Flow{Src: db, Dst: external, DstIP: ip("1.1.1.1"), Protocol: "TCP", Port: 443}, Egress, Allowed, "NetworkPolicy default/allow-all-egress rule 1"},
		// The docs' example policy, ingress.
		{"example: frontend pod admitted", []Policy{docExample}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		{"example: frontend pod on another port", []Policy{docExample}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 6380}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: frontend pod over UDP", []Policy{docExample}, Flow{Src: frontend, Dst: db, Protocol: "UDP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: other pod of the namespace", []Policy{docExample}, Flow{Src: other, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: role=frontend of another namespace", []Policy{docExample}, Flow{Src: frontendElsewhere, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: any pod of a project=myproject namespace", []Policy{docExample}, Flow{Src: myproject, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		{"example: ipBlock admits 172.17.0.5", []Policy{docExample}, Flow{Src: external, SrcIP: ip("172.17.0.5"), Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		{"example: ipBlock except 172.17.1.0/24", []Policy{docExample}, Flow{Src: external, SrcIP: ip("172.17.1.9"), Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: outside the ipBlock", []Policy{docExample}, Flow{Src: external, SrcIP: ip("172.18.0.1"), Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example: ipBlock matches a pod's address too", []Policy{docExample}, Flow{Src: other, SrcIP: ip("172.17.0.9"), Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		// The docs' example policy, egress.
		{"example egress: TCP 5978 to 10.0.0.0/24", []Policy{docExample}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.7"), Protocol: "TCP", Port: 5978}, Egress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		{"example egress: another port", []Policy{docExample}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.7"), Protocol: "TCP", Port: 80}, Egress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example egress: outside the block", []Policy{docExample}, Flow{Src: db, Dst: external, DstIP: ip("10.0.1.7"), Protocol: "TCP", Port: 5978}, Egress, Denied, "NetworkPolicy default/test-network-policy"},
		{"example egress: DNS forgotten", []Policy{docExample}, Flow{Src: db, Dst: dns, DstIP: ip("10.244.0.3"), Protocol: "UDP", Port: 53}, Egress, Denied, "NetworkPolicy default/test-network-policy"},
		// endPort.
		{"endPort: first port", []Policy{endPort}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.1"), Protocol: "TCP", Port: 32000}, Egress, Allowed, "NetworkPolicy default/multi-port-egress rule 1"},
		{"endPort: last port", []Policy{endPort}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.1"), Protocol: "TCP", Port: 32768}, Egress, Allowed, "NetworkPolicy default/multi-port-egress rule 1"},
		{"endPort: one past", []Policy{endPort}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.1"), Protocol: "TCP", Port: 32769}, Egress, Denied, "NetworkPolicy default/multi-port-egress"},
		{"endPort: one before", []Policy{endPort}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.1"), Protocol: "TCP", Port: 31999}, Egress, Denied, "NetworkPolicy default/multi-port-egress"},
		// One peer with both selectors is an "and"; two peers an "or".
		{"and: client in alice's namespace", []Policy{andPeer}, Flow{Src: alice, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Allowed, "NetworkPolicy default/and rule 1"},
		{"and: other pod in alice's namespace", []Policy{andPeer}, Flow{Src: aliceOther, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Denied, "NetworkPolicy default/and"},
		{"and: client in bob's namespace", []Policy{andPeer}, Flow{Src: bob, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Denied, "NetworkPolicy default/and"},
		{"or: other pod in alice's namespace", []Policy{orPeers}, Flow{Src: aliceOther, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Allowed, "NetworkPolicy default/or rule 1"},
		{"or: client of bob's namespace (podSelector alone is the policy's namespace)", []Policy{orPeers}, Flow{Src: bob, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Denied, "NetworkPolicy default/or"},
		{"or: client of the policy's namespace", []Policy{orPeers}, Flow{Src: pod("default", map[string]string{}, "role", "client"), Dst: db, Protocol: "TCP", Port: 1}, Ingress, Allowed, "NetworkPolicy default/or rule 1"},
		// A namespace by its name label, and what is known without the namespace's labels.
		{"namespace by name: DNS admitted", []Policy{byName}, Flow{Src: db, Dst: dns, Protocol: "UDP", Port: 53}, Egress, Allowed, "NetworkPolicy default/to-kube-system-dns rule 1"},
		{"namespace by name: TCP DNS admitted", []Policy{byName}, Flow{Src: db, Dst: dns, Protocol: "TCP", Port: 53}, Egress, Allowed, "NetworkPolicy default/to-kube-system-dns rule 1"},
		{"namespace by name: another port", []Policy{byName}, Flow{Src: db, Dst: dns, Protocol: "TCP", Port: 9153}, Egress, Denied, "NetworkPolicy default/to-kube-system-dns"},
		{"namespace by name: labels unread, name still known", []Policy{byName}, Flow{Src: db, Dst: pod("kube-system", nil, "k8s-app", "kube-dns"), Protocol: "UDP", Port: 53}, Egress, Allowed, "NetworkPolicy default/to-kube-system-dns rule 1"},
		{"namespace labels unread: undecided, not a guess", []Policy{andPeer}, Flow{Src: unlabelledNS, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Undecided, "NetworkPolicy default/and rule 1"},
		{"destination unknown: selectors undecided", []Policy{byName}, Flow{Src: db, Dst: unknownDst, DstIP: ip("10.244.9.9"), Protocol: "UDP", Port: 53}, Egress, Undecided, "NetworkPolicy default/to-kube-system-dns rule 1"},
		{"destination unknown: an ipBlock still decides", []Policy{docExample}, Flow{Src: db, Dst: unknownDst, DstIP: ip("10.0.0.9"), Protocol: "TCP", Port: 5978}, Egress, Allowed, "NetworkPolicy default/test-network-policy rule 1"},
		// Named ports.
		{"named port: the pod's redis port", []Policy{namedPort}, Flow{Src: other, Dst: dbNamed, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/named rule 1"},
		{"named port: another port", []Policy{namedPort}, Flow{Src: other, Dst: dbNamed, Protocol: "TCP", Port: 6380}, Ingress, Denied, "NetworkPolicy default/named"},
		{"named port: a pod without that name", []Policy{namedPort}, Flow{Src: other, Dst: db, Protocol: "TCP", Port: 6379}, Ingress, Denied, "NetworkPolicy default/named"},
		// policyTypes defaults.
		{"implicit types: egress rules make it Egress too", []Policy{implicitTypes}, Flow{Src: db, Dst: external, DstIP: ip("1.1.1.1"), Protocol: "TCP", Port: 80}, Egress, Denied, "NetworkPolicy default/implicit"},
		{"implicit types: Ingress always", []Policy{implicitTypes}, Flow{Src: other, Dst: db, Protocol: "TCP", Port: 80}, Ingress, Denied, "NetworkPolicy default/implicit"},
		{"implicit types: port 443 admitted", []Policy{implicitTypes}, Flow{Src: db, Dst: external, DstIP: ip("1.1.1.1"), Protocol: "TCP", Port: 443}, Egress, Allowed, "NetworkPolicy default/implicit rule 1"},
		{"no types, no rules: ingress only", []Policy{ingressOnly}, Flow{Src: db, Dst: external, DstIP: ip("1.1.1.1"), Protocol: "TCP", Port: 80}, Egress, Allowed, ""},
		{"no types, no rules: isolates ingress", []Policy{ingressOnly}, Flow{Src: frontend, Dst: db, Protocol: "TCP", Port: 80}, Ingress, Denied, "NetworkPolicy default/ingress-only"},
		// Policies add up: one admitting is enough.
		{"union: the second policy admits", []Policy{docExample, allowAllIngress}, Flow{Src: other, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Allowed, "NetworkPolicy default/allow-all-ingress rule 1"},
		// Expressions.
		{"expressions: In selects, DoesNotExist admits", []Policy{exprSel}, Flow{Src: other, Dst: db, Protocol: "TCP", Port: 1}, Ingress, Allowed, "NetworkPolicy default/expr rule 1"},
		{"expressions: DoesNotExist refuses", []Policy{exprSel}, Flow{Src: pod("default", map[string]string{}, "track", "canary"), Dst: db, Protocol: "TCP", Port: 1}, Ingress, Denied, "NetworkPolicy default/expr"},
		// IPv6 blocks, SCTP, UDP ranges, mixed named and numbered ports, an explicit empty from.
		{"ipv6 block admits", []Policy{v6}, Flow{Src: db, Dst: external, DstIP: ip("fd00:10::7"), Protocol: "TCP", Port: 80}, Egress, Allowed, "NetworkPolicy default/v6 rule 1"},
		{"ipv6 block except", []Policy{v6}, Flow{Src: db, Dst: external, DstIP: ip("fd00:10::1:7"), Protocol: "TCP", Port: 80}, Egress, Denied, "NetworkPolicy default/v6"},
		{"an ipv4 address is outside an ipv6 block", []Policy{v6}, Flow{Src: db, Dst: external, DstIP: ip("10.0.0.7"), Protocol: "TCP", Port: 80}, Egress, Denied, "NetworkPolicy default/v6"},
		{"sctp port", []Policy{mixed}, Flow{Src: other, Dst: dbNamed, Protocol: "SCTP", Port: 9000}, Ingress, Allowed, "NetworkPolicy default/mixed rule 1"},
		{"udp range", []Policy{mixed}, Flow{Src: other, Dst: dbNamed, Protocol: "UDP", Port: 5005}, Ingress, Allowed, "NetworkPolicy default/mixed rule 1"},
		{"udp range is not tcp", []Policy{mixed}, Flow{Src: other, Dst: dbNamed, Protocol: "TCP", Port: 5005}, Ingress, Denied, "NetworkPolicy default/mixed"},
		{"named port beside numbers", []Policy{mixed}, Flow{Src: other, Dst: dbNamed, Protocol: "TCP", Port: 6379}, Ingress, Allowed, "NetworkPolicy default/mixed rule 1"},
		{"explicit empty from admits everyone", []Policy{mixed}, Flow{Src: external, SrcIP: ip("192.0.2.1"), Dst: dbNamed, Protocol: "SCTP", Port: 9000}, Ingress, Allowed, "NetworkPolicy default/mixed rule 1"},
		// ICMP: rules with ports are TCP/UDP/SCTP; a rule without ports admits any protocol.
		{"icmp: a ports rule does not admit a ping", []Policy{docExample}, Flow{Src: frontend, Dst: db, Protocol: "ICMP"}, Ingress, Denied, "NetworkPolicy default/test-network-policy"},
		{"icmp: a rule without ports does", []Policy{orPeers}, Flow{Src: aliceOther, Dst: db, Protocol: "ICMP"}, Ingress, Allowed, "NetworkPolicy default/or rule 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Pods have addresses; the cases that test address blocks give theirs.
			if !tc.flow.SrcIP.IsValid() {
				tc.flow.SrcIP = ip("10.244.1.5")
			}
			if !tc.flow.DstIP.IsValid() {
				tc.flow.DstIP = ip("10.244.2.6")
			}
			v := Evaluate(tc.policies, tc.flow, tc.dir)
			if v.Decision != tc.want {
				t.Fatalf("decision %s, want %s (%+v)", v.Decision, tc.want, v)
			}
			by := ""
			if len(v.By) > 0 {
				by = v.By[0].String()
				if v.By[0].Rule > 0 {
					by += " rule " + itoa(v.By[0].Rule)
				}
			}
			if by != tc.by {
				t.Errorf("decided by %q, want %q", by, tc.by)
			}
			if tc.want == Denied && len(v.Admits) == 0 {
				t.Errorf("a denial says nothing of what the policy admits")
			}
		})
	}
}

func TestExplain(t *testing.T) {
	ingress := Policy{Namespace: "shop", Name: "db-ingress", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("app", "db"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "stable")}},
			Ports: []networkingv1.NetworkPolicyPort{tcp(5432)}}}}}
	dbPod := pod("shop", map[string]string{}, "app", "db")
	webA := pod("shop", map[string]string{}, "app", "web", "role", "stable")
	webB := pod("shop", map[string]string{}, "app", "web", "role", "canary")
	flow := func(src Endpoint) Flow {
		return Flow{Src: src, SrcIP: ip("10.244.1.5"), Dst: dbPod, DstIP: ip("10.244.2.9"), Protocol: "TCP", Port: 5432}
	}
	va := Evaluate([]Policy{ingress}, flow(webA), Ingress)
	vb := Evaluate([]Policy{ingress}, flow(webB), Ingress)
	if va.Key() != "allowed" || vb.Key() != "denied by NetworkPolicy shop/db-ingress" {
		t.Fatalf("keys %q, %q", va.Key(), vb.Key())
	}
	got := Explain(Side{Name: "web-b", Self: webB, Verdict: vb, Reaching: "tcp://db:5432 (Service shop/db)"},
		Side{Name: "web-a", Self: webA, Verdict: va}, false)
	want := "NetworkPolicy shop/db-ingress selects pods with app=db for ingress and admits only TCP 5432 from pods with role=stable of its namespace; " +
		"web-b has role=canary (web-a: role=stable): web-b's traffic to tcp://db:5432 (Service shop/db) is dropped at the destination's ingress"
	if got != want {
		t.Errorf("explain:\n got %s\nwant %s", got, want)
	}
	got = Headline(Side{Name: "web-b", Self: webB, Verdict: vb}, Side{Name: "web-a", Self: webA, Verdict: va}, false)
	if want := "NetworkPolicy `shop/db-ingress` keeps web-b out of the destination, as web-b has `role=canary` (web-a: `role=stable`)"; got != want {
		t.Errorf("headline:\n got %s\nwant %s", got, want)
	}

	// Egress: the policy selects the canary only and forgets DNS.
	deny := Policy{Namespace: "shop", Name: "canary-egress", Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *sel("role", "canary"), PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", "db")}}}}}}
	dns := pod("kube-system", map[string]string{}, "k8s-app", "kube-dns")
	df := func(src Endpoint) Flow {
		return Flow{Src: src, Dst: dns, DstIP: ip("10.244.0.2"), Protocol: "UDP", Port: 53}
	}
	ea, eb := Evaluate([]Policy{deny}, df(webA), Egress), Evaluate([]Policy{deny}, df(webB), Egress)
	got = Explain(Side{Name: "web-b", Self: webB, Verdict: eb, Reaching: "udp://10.96.0.10:53"}, Side{Name: "web-a", Self: webA, Verdict: ea}, true)
	for _, w := range []string{"NetworkPolicy shop/canary-egress selects pods with role=canary for egress and admits only traffic to pods with app=db of its namespace",
		"web-b has role=canary (web-a: role=stable)", "forgets DNS"} {
		if !strings.Contains(got, w) {
			t.Errorf("egress explain %q lacks %q", got, w)
		}
	}
	got = Headline(Side{Name: "web-b", Self: webB, Verdict: eb}, Side{Name: "web-a", Self: webA, Verdict: ea}, true)
	if want := "NetworkPolicy `shop/canary-egress` denies web-b's egress, DNS included, as web-b has `role=canary` (web-a: `role=stable`)"; got != want {
		t.Errorf("egress headline:\n got %s\nwant %s", got, want)
	}
}

func TestMerge(t *testing.T) {
	a := Verdict{Decision: Denied, By: []Ref{{Kind: "NetworkPolicy", Namespace: "x", Name: "p"}}, Admits: []string{"p admits"}}
	b := Verdict{Decision: Allowed}
	if m := Merge([]Verdict{a, a}); m.Decision != Denied || len(m.By) != 1 {
		t.Errorf("two denials: %+v", m)
	}
	if m := Merge([]Verdict{a, b}); m.Decision != Undecided || !strings.Contains(m.Reason, "1 of 2 endpoints") {
		t.Errorf("mixed: %+v", m)
	}
	if m := Merge([]Verdict{b, b}); m.Decision != Allowed {
		t.Errorf("allowed: %+v", m)
	}
}

func k8sAllowAll() networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}
}
