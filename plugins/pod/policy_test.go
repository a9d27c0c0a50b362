package pod

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// fakeLister is the API: objects by namespace; refused lists fail with forbidden.
type fakeLister struct {
	pods     []corev1.Pod
	svcs     []corev1.Service
	slices   []discoveryv1.EndpointSlice
	nss      []corev1.Namespace
	nps      []networkingv1.NetworkPolicy
	calico   []netpol.CalicoPolicy
	refused  map[string]bool // "pods", "namespaces", "networkpolicies", ...
	requests int
}

var errForbidden = errors.New("forbidden")

func inNS[T any](items []T, ns string, of func(T) string) []T {
	var out []T
	for _, x := range items {
		if of(x) == ns {
			out = append(out, x)
		}
	}
	return out
}

func (f *fakeLister) Services(_ context.Context, ns string) ([]corev1.Service, error) {
	f.requests++
	if f.refused["services"] {
		return nil, errForbidden
	}
	return inNS(f.svcs, ns, func(s corev1.Service) string { return s.Namespace }), nil
}
func (f *fakeLister) EndpointSlices(_ context.Context, ns string) ([]discoveryv1.EndpointSlice, error) {
	f.requests++
	if f.refused["endpointslices"] {
		return nil, errForbidden
	}
	return inNS(f.slices, ns, func(s discoveryv1.EndpointSlice) string { return s.Namespace }), nil
}
func (f *fakeLister) Pods(_ context.Context, ns string) ([]corev1.Pod, error) {
	f.requests++
	if f.refused["pods"] {
		return nil, errForbidden
	}
	return inNS(f.pods, ns, func(p corev1.Pod) string { return p.Namespace }), nil
}
func (f *fakeLister) PodsByIP(_ context.Context, ip string) ([]corev1.Pod, error) {
	f.requests++
	if f.refused["pods"] {
		return nil, errForbidden
	}
	var out []corev1.Pod
	for _, p := range f.pods {
		if hasIP(&p, ip) {
			out = append(out, p)
		}
	}
	return out, nil
}
func (f *fakeLister) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	f.requests++
	if f.refused["namespaces"] {
		return nil, errForbidden
	}
	for _, n := range f.nss {
		if n.Name == name {
			return &n, nil
		}
	}
	return nil, errors.New("not found")
}
func (f *fakeLister) CalicoPolicies(_ context.Context, ns string) ([]netpol.CalicoPolicy, error) {
	f.requests++
	if f.refused["calico"] {
		return nil, errForbidden
	}
	var out []netpol.CalicoPolicy
	for _, p := range f.calico {
		if p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out, nil
}
func (f *fakeLister) NetworkPolicies(_ context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
	f.requests++
	if f.refused["networkpolicies"] {
		return nil, errForbidden
	}
	return inNS(f.nps, ns, func(p networkingv1.NetworkPolicy) string { return p.Namespace }), nil
}

// The outcome side of the test: a section whose rows are probes ("tcp://db:5432/ipv4":
// "ok 3/3" or "ETIMEDOUT 3/3 (timeout)"), as the connect and dns plugins read theirs.
const probeSection = "policytest-probes"

type probeRows map[string]string

func init() {
	section.Register(section.Descriptor[probeRows]{
		Name: probeSection,
		Facts: func(s *probeRows) []probe.Fact {
			var f []probe.Fact
			for k, v := range *s {
				f = append(f, probe.Fact{Key: k, Value: v})
			}
			return f
		},
		Analysis: &contract.Analysis{Role: contract.Outcome, Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
			tgt, ak := target.SplitKey(r.Key)
			scheme, port := target.Port(tgt)
			return contract.Probe{Target: tgt, AddrKey: ak, Proto: scheme, Port: port,
				Status: contract.Statuses(r, func(v string) contract.Status { return contract.RunStatus(v, "ok") })}, true
		}},
	})
}

func labelled(ns, name, ip string, kv ...string) corev1.Pod {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
			{Name: "pg", ContainerPort: 5432, Protocol: corev1.ProtocolTCP}, {Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
}

func nsObj(name string, kv ...string) corev1.Namespace {
	l := map[string]string{"kubernetes.io/metadata.name": name}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func service(ns, name, ip string, port, target int32, proto corev1.Protocol, endpoints ...corev1.Pod) (corev1.Service, discoveryv1.EndpointSlice) {
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Ports: []corev1.ServicePort{{Name: "p", Port: port, Protocol: proto, TargetPort: intstr.FromInt32(target)}}}}
	sl := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr("p"), Port: &target, Protocol: &proto}}}
	for _, p := range endpoints {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: p.Name, Namespace: ns}})
	}
	return svc, sl
}

func tcpPort(p int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(p))}
}

// world is a small cluster: web-a (role=stable) and web-b (role=canary) in shop, a db
// behind Service db, CoreDNS behind kube-dns, an external address.
func world() *fakeLister {
	db := labelled("shop", "db-0", "10.244.2.9", "app", "db")
	dns := labelled("kube-system", "coredns-1", "10.244.0.2", "k8s-app", "kube-dns")
	dbSvc, dbSlice := service("shop", "db", "10.96.5.5", 5432, 5432, corev1.ProtocolTCP, db)
	dnsSvc, dnsSlice := service("kube-system", "kube-dns", "10.96.0.10", 53, 53, corev1.ProtocolUDP, dns)
	dnsSvc.Spec.Ports = append(dnsSvc.Spec.Ports, corev1.ServicePort{Name: "t", Port: 53, Protocol: corev1.ProtocolTCP})
	dnsSlice.Ports = append(dnsSlice.Ports, discoveryv1.EndpointPort{Name: ptr("t"), Port: ptr(int32(53)), Protocol: ptr(corev1.ProtocolTCP)})
	return &fakeLister{
		pods:   []corev1.Pod{db, dns},
		svcs:   []corev1.Service{dbSvc, dnsSvc},
		slices: []discoveryv1.EndpointSlice{dbSlice, dnsSlice},
		nss:    []corev1.Namespace{nsObj("shop", "team", "shop"), nsObj("other", "team", "none"), nsObj("kube-system")},
	}
}

// The probes each pod made, as the connect and dns sections record them.
const probesJSON = `{"targets":[
 {"target":"tcp://db:5432","scheme":"tcp","port":5432,"addresses":[{"address":"10.96.5.5","key":"ipv4"}]},
 {"target":"tcp://203.0.113.7:443","scheme":"tcp","port":443,"addresses":[{"address":"203.0.113.7","key":"ipv4"}]},
 {"target":"tcp://PEER:8080","scheme":"tcp","port":8080,"addresses":[{"address":"PEER","key":"ipv4"}]}],
 "nameservers":["10.96.0.10"]}`

type subjectSpec struct {
	pod      corev1.Pod
	outcomes probeRows // target key (with <peer>) -> outcome
}

// run builds both pods' reports through AddPolicyFacts, then diffs them with the real engine.
func run(t *testing.T, l *fakeLister, a, b subjectSpec) *diff.Result {
	t.Helper()
	pods := []*corev1.Pod{&a.pod, &b.pod}
	l.pods = append(l.pods, a.pod, b.pod)
	var reps []*report.Report
	for i, s := range []subjectSpec{a, b} {
		peer := pods[1-i]
		raw := json.RawMessage(strings.ReplaceAll(probesJSON, "PEER", peer.Status.PodIP))
		rep := &report.Report{Sections: map[string]json.RawMessage{"connect": raw, "dns": raw}}
		sec := Build(&s.pod, l.nps, "netdiff-")
		AddPolicyFacts(context.Background(), sec, rep, &s.pod, []*corev1.Pod{peer}, l)
		outs := probeRows{}
		for k, v := range s.outcomes {
			outs[strings.ReplaceAll(k, "PEER", peer.Status.PodIP)] = v
		}
		rep.Sections = map[string]json.RawMessage{SectionName: mustJSON(t, sec), probeSection: mustJSON(t, outs)}
		reps = append(reps, rep)
	}
	res, err := diff.Compare([]string{a.pod.Name, b.pod.Name}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	ok      = "ok 3/3"
	timeout = "ETIMEDOUT 3/3 (timeout)"
)

func allOK() probeRows {
	return probeRows{"tcp://db:5432/ipv4": ok, "tcp://203.0.113.7:443/ipv4": ok, "tcp://PEER:8080/ipv4": ok, "udp://10.96.0.10:53/ipv4": ok, "tcp://10.96.0.10:53/ipv4": ok}
}

func with(p probeRows, kv ...string) probeRows {
	out := probeRows{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestPolicyCauses(t *testing.T) {
	egress := func(name string, sel map[string]string, rules ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: sel}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: rules}}
	}
	ingress := func(ns, name string, sel map[string]string, rules ...networkingv1.NetworkPolicyIngressRule) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: sel}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, Ingress: rules}}
	}
	stable := labelled("shop", "web-a", "10.244.1.5", "app", "web", "role", "stable")
	canary := labelled("shop", "web-b", "10.244.1.6", "app", "web", "role", "canary")
	elsewhere := labelled("other", "web-b", "10.244.1.6", "app", "web", "role", "stable")
	canaryOnly := map[string]string{"role": "canary"}

	order := 10.0
	calicoDeny := netpol.CalicoPolicy{Kind: "GlobalNetworkPolicy", Name: "no-canary-to-db", Spec: netpol.CalicoSpec{Order: &order, Selector: "app == 'db'",
		Types: []string{"Ingress"}, Ingress: []netpol.CalicoRule{{Action: "Deny", Source: netpol.CalicoEntity{Selector: "role == 'canary'"}}, {Action: "Allow"}}}}
	cases := []struct {
		name   string
		calico []netpol.CalicoPolicy
		nps    []networkingv1.NetworkPolicy
		a, b   subjectSpec
		want   []string // in the first finding, a cause of the pod section; nil: no pod cause at all
		unwant []string
	}{
		{
			name: "ingress at the destination admits only role=stable",
			nps: []networkingv1.NetworkPolicy{ingress("shop", "db-ingress", map[string]string{"app": "db"},
				networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "stable"}}}},
					Ports: []networkingv1.NetworkPolicyPort{tcpPort(5432)}})},
			a: subjectSpec{stable, allOK()}, b: subjectSpec{canary, with(allOK(), "tcp://db:5432/ipv4", timeout)},
			want: []string{"NetworkPolicy shop/db-ingress selects pods with app=db for ingress and admits only TCP 5432 from pods with role=stable",
				"web-b has role=canary (web-a: role=stable)", "web-b's traffic to tcp://db:5432 (Service shop/db)", "dropped at the destination's ingress"},
		},
		{
			name: "egress default deny that forgets DNS",
			nps:  []networkingv1.NetworkPolicy{egress("lockdown", canaryOnly, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}})},
			a:    subjectSpec{stable, allOK()},
			b:    subjectSpec{canary, with(allOK(), "udp://10.96.0.10:53/ipv4", timeout, "tcp://10.96.0.10:53/ipv4", timeout, "tcp://203.0.113.7:443/ipv4", timeout, "tcp://PEER:8080/ipv4", timeout)},
			want: []string{"NetworkPolicy shop/lockdown selects pods with role=canary for egress", "web-b has role=canary (web-a: role=stable)", "the cluster DNS 10.96.0.10 (Service kube-system/kube-dns), tcp://203.0.113.7:443", "forgets DNS"},
		},
		{
			name: "ipBlock except at egress",
			nps: []networkingv1.NetworkPolicy{egress("no-db-net", canaryOnly, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.244.2.0/24"}}}}})},
			a: subjectSpec{stable, allOK()}, b: subjectSpec{canary, with(allOK(), "tcp://db:5432/ipv4", timeout)},
			want: []string{"NetworkPolicy shop/no-db-net", "0.0.0.0/0 except 10.244.2.0/24", "web-b has role=canary"},
		},
		{
			name: "port: egress admits only 443",
			nps:  []networkingv1.NetworkPolicy{egress("https-only", canaryOnly, networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{tcpPort(443)}})},
			a:    subjectSpec{stable, allOK()},
			b: subjectSpec{canary, with(allOK(), "tcp://db:5432/ipv4", timeout, "udp://10.96.0.10:53/ipv4", timeout, "tcp://10.96.0.10:53/ipv4", timeout,
				"tcp://PEER:8080/ipv4", timeout)},
			want: []string{"NetworkPolicy shop/https-only", "admits only TCP 443 to anywhere"},
		},
		{
			name: "namespace selector at the destination",
			nps: []networkingv1.NetworkPolicy{ingress("shop", "db-from-shop", map[string]string{"app": "db"},
				networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}}}})},
			a: subjectSpec{stable, allOK()}, b: subjectSpec{elsewhere, with(allOK(), "tcp://db:5432/ipv4", timeout)},
			want: []string{"NetworkPolicy shop/db-from-shop", "pods in namespaces with team=shop", "web-b is in namespace other (web-a: shop)", "web-b's namespace has team=none (web-a's: team=shop)"},
		},
		{
			name: "ingress at the peer: web-a may not reach web-b",
			nps: []networkingv1.NetworkPolicy{ingress("shop", "canary-from-canary", canaryOnly,
				networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: canaryOnly}}}})},
			a: subjectSpec{stable, with(allOK(), "tcp://PEER:8080/ipv4", timeout)}, b: subjectSpec{canary, allOK()},
			want: []string{"NetworkPolicy shop/canary-from-canary", "it selects the destination, pod shop/web-b", "tcp://<peer>:8080"},
		},
		{
			name:   "Calico's own GlobalNetworkPolicy denies the canary",
			calico: []netpol.CalicoPolicy{calicoDeny},
			a:      subjectSpec{stable, allOK()}, b: subjectSpec{canary, with(allOK(), "tcp://db:5432/ipv4", timeout)},
			want: []string{"Calico GlobalNetworkPolicy no-canary-to-db (order 10) denies ingress with rule 1", "web-b has role=canary (web-a: role=stable)",
				"web-b's traffic to tcp://db:5432 (Service shop/db) is dropped at the destination's ingress"},
		},
		{
			name:   "twins under the same policy stay silent",
			nps:    []networkingv1.NetworkPolicy{egress("lockdown", map[string]string{"app": "web"})},
			a:      subjectSpec{stable, with(allOK(), "tcp://db:5432/ipv4", timeout)},
			b:      subjectSpec{labelled("shop", "web-b", "10.244.1.6", "app", "web", "role", "stable"), with(allOK(), "tcp://db:5432/ipv4", timeout)},
			unwant: []string{"NetworkPolicy"},
		},
		{
			name:   "a policy that changes no outcome is context, not a cause",
			nps:    []networkingv1.NetworkPolicy{egress("allow-all", canaryOnly, networkingv1.NetworkPolicyEgressRule{})},
			a:      subjectSpec{stable, allOK()},
			b:      subjectSpec{canary, allOK()},
			unwant: []string{"dropped"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := world()
			l.nps, l.calico = tc.nps, tc.calico
			res := run(t, l, tc.a, tc.b)
			var causes []contract.Finding
			for _, f := range res.Findings {
				if f.Kind == contract.Cause {
					causes = append(causes, f)
				}
				for _, u := range tc.unwant {
					if f.Kind != contract.Context && strings.Contains(f.Message, u) {
						t.Errorf("unwanted %s finding %q", f.Kind, f.Message)
					}
				}
			}
			if tc.want == nil {
				return
			}
			if len(res.Findings) == 0 || res.Findings[0].Kind != contract.Cause || !strings.HasPrefix(res.Findings[0].Rule, "pod/") {
				t.Fatalf("first finding is not the policy cause: %+v", res.Findings)
			}
			f := res.Findings[0]
			for _, w := range tc.want {
				if !strings.Contains(f.Message+" "+f.Detail, w) {
					t.Errorf("cause %q (detail %q) lacks %q", f.Message, f.Detail, w)
				}
			}
			// Issue 31's NetworkPolicy kind: the policy and what decides in the
			// headline, what it admits and drops in the detail.
			plugintest.GoldenHeadline(t, "policy-"+strings.ReplaceAll(tc.name, " ", "-"), f)
			if n := countPodCauses(res.Findings); n != 1 {
				t.Errorf("%d policy causes, want one line for one fault", n)
			}
			if len(f.Explains) == 0 {
				t.Errorf("the cause explains no symptom: %+v", f)
			}
			for _, g := range res.Findings {
				if g.Kind == contract.Symptom && len(g.ExplainedBy) == 0 {
					t.Errorf("symptom left unexplained: %q", g.Message)
				}
			}
			t.Logf("%s\n  %s", f.Message, f.Detail)
		})
	}
}

// Refused reads make the verdicts unknown, never a guessed cause.
func TestPolicyFactsDegrade(t *testing.T) {
	l := world()
	l.nps = []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-ingress"}, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}}}}}}}}
	l.refused = map[string]bool{"namespaces": true, "pods": true}
	stable := labelled("shop", "web-a", "10.244.1.5", "app", "web", "role", "stable")
	canary := labelled("shop", "web-b", "10.244.1.6", "app", "web", "role", "canary")
	res := run(t, l, subjectSpec{stable, allOK()}, subjectSpec{canary, with(allOK(), "tcp://db:5432/ipv4", timeout)})
	for _, f := range res.Findings {
		if f.Kind == contract.Cause && strings.Contains(f.Message, "NetworkPolicy") {
			t.Errorf("a cause from unknown facts: %q", f.Message)
		}
	}
	for _, r := range res.Rows {
		if r.Section == SectionName && r.Key == "policy/ingress/tcp://db:5432/ipv4" && !strings.HasPrefix(r.Values[1], "unknown: cannot list pods in namespace shop") {
			t.Errorf("ingress verdict with pods unreadable = %q", r.Values[1])
		}
	}
}

func countPodCauses(fs []contract.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Kind == contract.Cause && strings.HasPrefix(f.Rule, SectionName+"/") {
			n++
		}
	}
	return n
}
