package pod

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

func pod(name string, labels map[string]string, hostNet bool) *corev1.Pod {
	t := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps", Labels: labels,
			Annotations: map[string]string{"cni.projectcalico.org/podIP": "10.1.63.136/32", "team": "home"}},
		Spec: corev1.PodSpec{
			NodeName: "node-1", HostNetwork: hostNet, DNSPolicy: corev1.DNSClusterFirst,
			InitContainers: []corev1.Container{{Name: "proxy", Image: "envoy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
			Containers: []corev1.Container{{Name: "app", Image: "ha:1", Ports: []corev1.ContainerPort{{ContainerPort: 8123, Protocol: corev1.ProtocolTCP}},
				SecurityContext: &corev1.SecurityContext{Privileged: &t, Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW", "NET_ADMIN"}}}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "netdiff-abcde", Image: "prober"}}},
		},
		Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.1.63.136"}}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestBuild(t *testing.T) {
	egress := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-egress", Namespace: "apps"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "ha"}}, PolicyTypes: []networkingv1.PolicyType{"Egress"}}}
	other := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	all := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: "apps"},
		Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}

	s := Build(pod("ha-0", map[string]string{"app": "ha"}, false), []networkingv1.NetworkPolicy{egress, other, all}, "netdiff-")
	if got := []string{s.NetworkPolicies[0].Name, s.NetworkPolicies[1].Name}; len(s.NetworkPolicies) != 2 || got[0] != "all" || got[1] != "deny-egress" {
		t.Errorf("policies = %+v, want all and deny-egress", s.NetworkPolicies)
	}
	if strings.Join(s.NetworkPolicies[0].Types, ",") != "Egress,Ingress" {
		t.Errorf("implicit policy types = %v, want Egress,Ingress (egress rules present)", s.NetworkPolicies[0].Types)
	}
	if len(s.Containers) != 2 || s.Containers[0].Kind != "sidecar" || s.Containers[1].Name != "app" {
		t.Errorf("containers = %+v: want the sidecar and app, not netdiff's own", s.Containers)
	}
	if c := s.Containers[1]; strings.Join(c.Security.CapAdd, ",") != "NET_ADMIN,NET_RAW" || !c.Security.Privileged || c.Ports[0] != "8123/TCP" {
		t.Errorf("app container = %+v", c)
	}
	if _, ok := s.Annotations["team"]; ok || s.Annotations["cni.projectcalico.org/podIP"] == "" {
		t.Errorf("annotations = %v: want only the network ones", s.Annotations)
	}
}

func comparison(t *testing.T, secs ...*Section) *contract.Comparison {
	c := &contract.Comparison{}
	for i, s := range secs {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		c.Subjects = append(c.Subjects, []string{"ha-0", "netshoot", "third"}[i])
		c.Reports = append(c.Reports, &report.Report{Sections: map[string]json.RawMessage{SectionName: raw}})
	}
	return c
}

func TestRules(t *testing.T) {
	np := []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "deny-egress", Namespace: "apps"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "ha"}}, PolicyTypes: []networkingv1.PolicyType{"Egress"}}}}
	a := Build(pod("ha-0", map[string]string{"app": "ha"}, false), np, "netdiff-")
	b := Build(pod("netshoot", map[string]string{"app": "debug"}, true), np, "netdiff-")
	b.DNSPolicy = "ClusterFirstWithHostNet"
	c := comparison(t, a, b)

	f := policyRule(c)
	if len(f) != 1 || f[0].Kind != contract.Context || !strings.Contains(f[0].Message, "deny-egress selects only ha-0 for egress") {
		t.Errorf("policy finding = %+v", f)
	}
	if f := hostNetworkRule(c); len(f) != 1 || !strings.HasPrefix(f[0].Message, "netshoot uses the node's network namespace") {
		t.Errorf("hostNetwork finding = %+v", f)
	}
	if f := dnsPolicyRule(c); len(f) != 1 || !strings.Contains(f[0].Message, "netshoot uses ClusterFirstWithHostNet") {
		t.Errorf("dnsPolicy finding = %+v", f)
	}
	// Twins: nothing to say.
	twin := comparison(t, a, a)
	if n := len(policyRule(twin)) + len(hostNetworkRule(twin)) + len(dnsPolicyRule(twin)); n != 0 {
		t.Errorf("identical pods produced %d findings", n)
	}
	// A policy list refused by RBAC is unknown, not empty: no finding from it.
	b.NetworkPoliciesError = "forbidden"
	if f := policyRule(comparison(t, a, b)); len(f) != 0 {
		t.Errorf("unknown policies must not produce a finding: %+v", f)
	}
}

func TestFactsKeysAreStable(t *testing.T) {
	s := Build(pod("ha-0", map[string]string{"app": "ha"}, false), nil, "netdiff-")
	raw, _ := json.Marshal(s)
	facts, err := section.Facts(SectionName, raw)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, f := range facts {
		keys[f.Key] = f.Value
	}
	for _, k := range []string{"node", "hostNetwork", "dnsPolicy", "containers/app/app/image", "containers/sidecar/proxy/image", "networkPolicies"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("missing fact %q in %v", k, keys)
		}
	}
	for k := range keys {
		if strings.Contains(k, "netdiff-") {
			t.Errorf("netdiff's own container leaked into fact %q", k)
		}
	}
}

// A CNI's annotation naming the pod's sandbox (Calico's containerID) is Info: every
// replica has its own. Other annotations still count.
func TestSandboxIDAnnotationIsInfo(t *testing.T) {
	s := &Section{Annotations: map[string]string{
		"cni.projectcalico.org/containerID": "4568c7437b2fd7a7f3b5862f615fecae39e2f446aafb10bcadcc7f3ff1f3b062",
		"cni.projectcalico.org/ipv4pools":   `["default-pool"]`,
		"network.example/config-sha256":     "4568c7437b2fd7a7f3b5862f615fecae39e2f446aafb10bcadcc7f3ff1f3b062",
	}}
	kinds := map[string]probe.FactKind{}
	for _, f := range facts(s) {
		kinds[f.Key] = f.Kind
	}
	if kinds["annotations/cni.projectcalico.org/containerID"] != probe.ShowOnly {
		t.Errorf("the sandbox ID annotation is not Info: %v", kinds)
	}
	if kinds["annotations/cni.projectcalico.org/ipv4pools"] != probe.Exact || kinds["annotations/network.example/config-sha256"] != probe.Exact {
		t.Errorf("an ordinary annotation is not Exact: %v", kinds)
	}
}

// An annotation's value is redacted whatever its key: network annotations are printed,
// and a sidecar's or CNI's settings may carry a credential.
func TestNetworkAnnotationsRedacted(t *testing.T) {
	in := map[string]string{
		"k8s.v1.cni.cncf.io/networks":         `[{"name":"x","password":"annA01"}]`,
		"example.com/network-proxy":           "http://u:annB02@proxy:3128",
		"sidecar.istio.io/network-auth":       "Authorization: Bearer annC03",
		"network.example.com/token-config":    "token=annD04",
		"cni.projectcalico.org/ipv4pools":     `["default-pool"]`,
		"bandwidth.example.com/secret-holder": "--password annE05",
	}
	out := networkAnnotations(in)
	for k, v := range out {
		for _, s := range []string{"annA01", "annB02", "annC03", "annD04", "annE05"} {
			if strings.Contains(v, s) {
				t.Errorf("%s = %q keeps %s", k, v, s)
			}
		}
	}
	if out["cni.projectcalico.org/ipv4pools"] != `["default-pool"]` {
		t.Errorf("a plain annotation changed: %q", out["cni.projectcalico.org/ipv4pools"])
	}
}
