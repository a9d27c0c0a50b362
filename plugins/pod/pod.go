// Package pod turns what the Kubernetes API knows about a pod (node, IPs, DNS policy,
// security contexts, NetworkPolicies) into the report's "pod" section, so it diffs like
// anything the prober saw.
package pod

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/qos"

	"github.com/netdiff/kubectl-netdiff/pkg/apisection"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/redact"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// SectionName is the report section this package fills.
const SectionName = "pod"

// Section is the pod as the API server sees it.
type Section struct {
	Node        string            `json:"node"`
	PodIPs      []string          `json:"podIPs"`
	HostIP      string            `json:"hostIP,omitempty"`
	HostNetwork bool              `json:"hostNetwork"`
	HostPID     bool              `json:"hostPID,omitempty"`
	DNSPolicy   string            `json:"dnsPolicy"`
	DNSConfig   *DNSConfig        `json:"dnsConfig,omitempty"`
	QOSClass    string            `json:"qosClass"`
	Sysctls     map[string]string `json:"sysctls,omitempty"`
	Pod         Security          `json:"podSecurityContext"`
	Containers  []Container       `json:"containers"`
	// Annotations keeps only network-related annotations (CNI, bandwidth, Calico, Multus…).
	Annotations     map[string]string `json:"annotations,omitempty"`
	NetworkPolicies []Policy          `json:"networkPolicies"`
	// NetworkPoliciesError says why policies could not be listed (e.g. RBAC); then the list is unknown, not empty.
	NetworkPoliciesError string `json:"networkPoliciesError,omitempty"`

	// What policy evaluation needs (docs/report-schema.md): the pod's namespace, labels
	// and service account, its namespace's labels, the specs of the NetworkPolicies that
	// select it or a destination pod, and every address its probes reached as a pod.
	Namespace            string            `json:"namespace,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	ServiceAccount       string            `json:"serviceAccount,omitempty"`
	NamespaceLabels      map[string]string `json:"namespaceLabels,omitempty"`
	NamespaceLabelsError string            `json:"namespaceLabelsError,omitempty"`
	PolicySpecs          []netpol.Policy   `json:"policySpecs,omitempty"`
	Destinations         []Destination     `json:"destinations,omitempty"`
	// CalicoPolicies are Calico's own policies (projectcalico.org) that select the pod or
	// a destination pod, where the API serves them; CalicoPoliciesError why they could
	// not be listed (then the verdicts are Kubernetes' alone, and say so).
	CalicoPolicies        []netpol.CalicoPolicy `json:"calicoPolicies,omitempty"`
	CalicoPoliciesError   string                `json:"calicoPoliciesError,omitempty"`
	DestinationsTruncated bool                  `json:"destinationsTruncated,omitempty"`
}

// DNSConfig is the pod's spec.dnsConfig, flattened.
type DNSConfig struct {
	Nameservers []string `json:"nameservers,omitempty"`
	Searches    []string `json:"searches,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Container is one container of the pod with what matters for networking.
type Container struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"` // app, init, sidecar (restartable init), ephemeral
	Image    string   `json:"image"`
	ImageID  string   `json:"imageID,omitempty"`
	Ready    bool     `json:"ready"`
	Security Security `json:"security"`
	Ports    []string `json:"ports,omitempty"` // "8080/TCP"
}

// Security is a security context reduced to comparable strings.
type Security struct {
	RunAsUser                string   `json:"runAsUser,omitempty"`
	RunAsNonRoot             string   `json:"runAsNonRoot,omitempty"`
	Privileged               bool     `json:"privileged,omitempty"`
	AllowPrivilegeEscalation string   `json:"allowPrivilegeEscalation,omitempty"`
	CapAdd                   []string `json:"capAdd,omitempty"`
	CapDrop                  []string `json:"capDrop,omitempty"`
	Seccomp                  string   `json:"seccomp,omitempty"`
	ReadOnlyRootFilesystem   bool     `json:"readOnlyRootFilesystem,omitempty"`
}

// Policy is a NetworkPolicy that selects the pod.
type Policy struct {
	Name  string   `json:"name"`
	Types []string `json:"types"` // Ingress, Egress
}

// Build extracts the section from a pod and the NetworkPolicies of its namespace.
// Containers whose name starts with skipPrefix (netdiff's own) are left out.
func Build(pod *corev1.Pod, policies []networkingv1.NetworkPolicy, skipPrefix string) *Section {
	s := &Section{
		Node:        pod.Spec.NodeName,
		HostIP:      pod.Status.HostIP,
		HostNetwork: pod.Spec.HostNetwork,
		HostPID:     pod.Spec.HostPID,
		DNSPolicy:   string(pod.Spec.DNSPolicy),
		QOSClass:    string(qos.GetPodQOS(pod)),
		Annotations: networkAnnotations(pod.Annotations),
	}
	for _, ip := range pod.Status.PodIPs {
		s.PodIPs = append(s.PodIPs, ip.IP)
	}
	if s.PodIPs == nil && pod.Status.PodIP != "" {
		s.PodIPs = []string{pod.Status.PodIP}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		s.DNSConfig = &DNSConfig{Nameservers: c.Nameservers, Searches: c.Searches}
		for _, o := range c.Options {
			v := o.Name
			if o.Value != nil {
				v += ":" + *o.Value
			}
			s.DNSConfig.Options = append(s.DNSConfig.Options, v)
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, sc := range psc.Sysctls {
			if s.Sysctls == nil {
				s.Sysctls = map[string]string{}
			}
			s.Sysctls[sc.Name] = sc.Value
		}
		s.Pod = Security{RunAsUser: int64s(psc.RunAsUser), RunAsNonRoot: bools(psc.RunAsNonRoot), Seccomp: seccomp(psc.SeccompProfile)}
	}
	statuses := map[string]corev1.ContainerStatus{}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			statuses[st.Name] = st
		}
	}
	add := func(c corev1.Container, kind string) {
		if skipPrefix != "" && strings.HasPrefix(c.Name, skipPrefix) {
			return
		}
		st := statuses[c.Name]
		ct := Container{Name: c.Name, Kind: kind, Image: c.Image, ImageID: st.ImageID, Ready: st.Ready, Security: security(c.SecurityContext)}
		for _, p := range c.Ports {
			ct.Ports = append(ct.Ports, fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol))
		}
		s.Containers = append(s.Containers, ct)
	}
	for _, c := range pod.Spec.InitContainers {
		kind := "init"
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = "sidecar"
		}
		add(c, kind)
	}
	for _, c := range pod.Spec.Containers {
		add(c, "app")
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		add(corev1.Container(ec.EphemeralContainerCommon), "ephemeral")
	}
	s.NetworkPolicies = Selecting(pod, policies)
	self := netpol.Endpoint{Pod: true, Namespace: pod.Namespace, Labels: pod.Labels, HostNetwork: pod.Spec.HostNetwork}
	for _, p := range netpol.FromAPI(policies) {
		if p.Selects(self) {
			s.PolicySpecs = append(s.PolicySpecs, p)
		}
	}
	return s
}

// Selecting returns the policies whose podSelector matches the pod, sorted by name.
func Selecting(pod *corev1.Pod, policies []networkingv1.NetworkPolicy) []Policy {
	out := []Policy{}
	for _, np := range policies {
		if np.Namespace != "" && np.Namespace != pod.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		p := Policy{Name: np.Name}
		for _, t := range np.Spec.PolicyTypes {
			p.Types = append(p.Types, string(t))
		}
		if len(p.Types) == 0 {
			// The API defaults to Ingress, plus Egress when egress rules exist.
			p.Types = []string{"Ingress"}
			if len(np.Spec.Egress) > 0 {
				p.Types = append(p.Types, "Egress")
			}
		}
		sort.Strings(p.Types)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var networkAnnotationHints = []string{"cni", "calico", "cilium", "multus", "network", "bandwidth", "ovn", "antrea", "flannel", "weave", "istio", "linkerd"}

func networkAnnotations(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		lk := strings.ToLower(k)
		for _, h := range networkAnnotationHints {
			if strings.Contains(lk, h) {
				if out == nil {
					out = map[string]string{}
				}
				// Whatever the key says, the value is the pod author's: a CNI config
				// or a sidecar's settings may carry a credential.
				out[k] = redact.Value(v)
				break
			}
		}
	}
	return out
}

func security(sc *corev1.SecurityContext) Security {
	if sc == nil {
		return Security{}
	}
	s := Security{
		RunAsUser:                int64s(sc.RunAsUser),
		RunAsNonRoot:             bools(sc.RunAsNonRoot),
		AllowPrivilegeEscalation: bools(sc.AllowPrivilegeEscalation),
		Seccomp:                  seccomp(sc.SeccompProfile),
	}
	s.Privileged = sc.Privileged != nil && *sc.Privileged
	s.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	if c := sc.Capabilities; c != nil {
		for _, a := range c.Add {
			s.CapAdd = append(s.CapAdd, string(a))
		}
		for _, d := range c.Drop {
			s.CapDrop = append(s.CapDrop, string(d))
		}
		sort.Strings(s.CapAdd)
		sort.Strings(s.CapDrop)
	}
	return s
}

func seccomp(p *corev1.SeccompProfile) string {
	if p == nil {
		return ""
	}
	if p.LocalhostProfile != nil {
		return string(p.Type) + ":" + *p.LocalhostProfile
	}
	return string(p.Type)
}

func int64s(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

func bools(p *bool) string {
	if p == nil {
		return ""
	}
	return strconv.FormatBool(*p)
}

// isRuntimeID: a container or sandbox ID (64 hex digits), maybe with its runtime's
// prefix ("containerd://").
func isRuntimeID(v string) bool {
	if _, id, ok := strings.Cut(v, "://"); ok {
		v = id
	}
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// facts flattens the section; keys name containers, sysctls and policies, never uids of objects.
func facts(s *Section) []probe.Fact {
	var f []probe.Fact
	add := func(k, v string, kind probe.FactKind) { f = append(f, probe.Fact{Key: k, Value: v, Kind: kind}) }
	// Replicas run on different nodes by design: the node is context, and what a node
	// changes shows in the facts it changes (gateway, addresses: normalised between nodes).
	add("node", s.Node, probe.ShowOnly)
	add("hostIP", s.HostIP, probe.ShowOnly)
	add("podIPs", strings.Join(s.PodIPs, ","), probe.Exact)
	add("hostNetwork", strconv.FormatBool(s.HostNetwork), probe.Exact)
	add("hostPID", strconv.FormatBool(s.HostPID), probe.Exact)
	add("dnsPolicy", s.DNSPolicy, probe.Exact)
	add("qosClass", s.QOSClass, probe.Exact)
	if c := s.DNSConfig; c != nil {
		add("dnsConfig/nameservers", strings.Join(c.Nameservers, ","), probe.Exact)
		add("dnsConfig/searches", strings.Join(c.Searches, ","), probe.Exact)
		add("dnsConfig/options", strings.Join(c.Options, ","), probe.Exact)
	}
	for k, v := range s.Sysctls {
		add("sysctls/"+k, v, probe.Exact)
	}
	addSec := func(prefix string, sc Security) {
		b, _ := json.Marshal(sc)
		add(prefix+"securityContext", string(b), probe.Exact)
	}
	addSec("pod/", s.Pod)
	for _, c := range s.Containers {
		p := "containers/" + c.Kind + "/" + c.Name + "/"
		add(p+"image", c.Image, probe.Exact)
		add(p+"imageID", c.ImageID, probe.ShowOnly)
		add(p+"ports", strings.Join(c.Ports, ","), probe.Exact)
		addSec(p, c.Security)
	}
	for k, v := range s.Annotations {
		kind := probe.Exact
		if lk := strings.ToLower(k); (strings.HasSuffix(lk, "containerid") || strings.HasSuffix(lk, "sandboxid")) && isRuntimeID(v) {
			// Calico's cni.projectcalico.org/containerID and the like: the sandbox of this
			// one pod, different in every replica by nature.
			kind = probe.ShowOnly
		}
		add("annotations/"+k, v, kind)
	}
	if s.NetworkPoliciesError != "" {
		add("networkPolicies", "unknown: "+s.NetworkPoliciesError, probe.ShowOnly)
	} else {
		names := make([]string, 0, len(s.NetworkPolicies))
		for _, p := range s.NetworkPolicies {
			add("networkPolicies/"+p.Name, strings.Join(p.Types, ","), probe.Exact)
			names = append(names, p.Name)
		}
		add("networkPolicies", fmt.Sprintf("%d selecting", len(names)), probe.Exact)
	}
	f = append(f, policyFacts(s)...)
	sort.Slice(f, func(i, j int) bool { return f[i].Key < f[j].Key })
	return f
}

// read fills the section for one pod: the pod itself, the NetworkPolicies of its namespace
// that select it, and what their evaluation needs. A list that is refused is noted in the
// section, not fatal: the rest still diffs.
func read(ctx context.Context, in *apisection.Input) (*Section, error) {
	ns := in.Pod.Namespace
	nps, err := in.Lister.NetworkPolicies(ctx, ns)
	s := Build(in.Pod, nps, in.OwnContainerPrefix)
	if err != nil {
		s.NetworkPoliciesError = fmt.Sprintf("cannot list networkpolicies in namespace %s: %v", ns, err)
	}
	AddPolicyFacts(ctx, s, in.Report, in.Pod, in.Peers, in.Lister)
	return s, nil
}

// The diff reads the "pod" section like a prober section; kubectl-netdiff fills it from
// the API (the prober never does).
func init() {
	apisection.Register(section.Descriptor[Section]{
		Name:     SectionName,
		Facts:    facts,
		Identity: func(s *Section) probe.SelfValues { return probe.SelfValues{IPs: s.PodIPs} },
		Rules: map[string]contract.Rule{
			"network-policy": policyRule,
			"host-network":   hostNetworkRule,
			"dns-policy":     dnsPolicyRule,
		},
		Analysis: &analysis,
	}, read)
}
