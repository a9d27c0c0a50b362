package pod

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/apisection"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Caps: a report stays small; what is cut is marked.
const (
	maxDestinations = 64
	maxEndpoints    = 16
)

// Destination is one address a probe reached, as the policies see it: the pod it is, or
// the endpoints of the Service whose ClusterIP it is (policies apply after the Service's
// DNAT: to the endpoint's address and target port), or an address outside the cluster.
type Destination struct {
	// Target and AddrKey name the probe as the connect, dns and icmp sections do.
	Target   string `json:"target"`
	AddrKey  string `json:"addrKey"`
	Address  string `json:"address"`
	Protocol string `json:"protocol"` // TCP, UDP, ICMP
	Port     int    `json:"port,omitempty"`
	// Service is namespace/name when the address is a Service's ClusterIP.
	Service string `json:"service,omitempty"`
	// DNS: the pod's nameserver or the cluster DNS Service.
	DNS       bool       `json:"dns,omitempty"`
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	Truncated bool       `json:"truncated,omitempty"`
	// IngressError says why the destination's policies could not be listed.
	IngressError string `json:"ingressError,omitempty"`
}

// Endpoint is where the destination's traffic lands: a pod (labels, namespace labels,
// named ports) or, Pod false, an address outside the cluster's pods.
type Endpoint struct {
	Address string `json:"address"`
	Port    int    `json:"port,omitempty"`
	netpol.Endpoint
}

// probeSchema is what the policy facts read of the connect, icmp and dns sections (their
// documented schemas): each probed address and its key.
type probeSchema struct {
	Targets []struct {
		Target    string `json:"target"`
		Scheme    string `json:"scheme"`
		Port      int    `json:"port"`
		Addresses []struct {
			Address string `json:"address"`
			Key     string `json:"key"`
		} `json:"addresses"`
	} `json:"targets"`
	Nameservers []string `json:"nameservers"`
}

// AddPolicyFacts fills what policy evaluation needs: the pod's labels and its namespace's,
// every address its probes reached resolved to pods, and the NetworkPolicies that select
// those pods for ingress. peers are the other compared pods.
func AddPolicyFacts(ctx context.Context, s *Section, rep *report.Report, pod *corev1.Pod, peers []*corev1.Pod, l apisection.Lister) {
	s.Namespace, s.Labels, s.ServiceAccount = pod.Namespace, pod.Labels, pod.Spec.ServiceAccountName
	if ns, err := l.Namespace(ctx, pod.Namespace); err != nil {
		s.NamespaceLabelsError = fmt.Sprintf("cannot get namespace %s: %v", pod.Namespace, err)
	} else {
		s.NamespaceLabels = nonNil(ns.Labels)
	}
	r := resolver{ctx: ctx, l: l, self: pod, peers: peers, nsLabels: map[string]map[string]string{}}
	own := map[string]bool{}
	for _, ip := range pod.Status.PodIPs {
		own[ip.IP] = true
	}
	seen := map[string]bool{}
	add := func(d Destination) {
		a, err := netip.ParseAddr(d.Address)
		if err != nil || a.IsLoopback() || own[d.Address] || seen[d.Target+"/"+d.AddrKey] {
			return
		}
		if len(s.Destinations) >= maxDestinations {
			s.DestinationsTruncated = true
			return
		}
		seen[d.Target+"/"+d.AddrKey] = true
		r.resolve(&d, a.Unmap())
		s.Destinations = append(s.Destinations, d)
	}
	var dns probeSchema
	if ok, err := rep.Section("dns", &dns); ok && err == nil {
		for _, ns := range dns.Nameservers {
			host, key := ns, "ipv4"
			if a, err := netip.ParseAddr(ns); err == nil && a.Is6() {
				host, key = "["+ns+"]", "ipv6"
			}
			for _, proto := range []string{"udp", "tcp"} {
				add(Destination{Target: proto + "://" + host + ":53", AddrKey: key, Address: ns, Protocol: strings.ToUpper(proto), Port: 53, DNS: true})
			}
		}
	}
	for _, sec := range []string{"connect", "icmp"} {
		var ps probeSchema
		if ok, err := rep.Section(sec, &ps); !ok || err != nil {
			continue
		}
		for _, t := range ps.Targets {
			scheme := t.Scheme
			if sec == "icmp" {
				scheme = "icmp"
			}
			if scheme != "tcp" && scheme != "udp" && scheme != "icmp" {
				continue
			}
			for _, a := range t.Addresses {
				add(Destination{Target: t.Target, AddrKey: a.Key, Address: a.Address, Protocol: strings.ToUpper(scheme), Port: t.Port})
			}
		}
	}
	// The policies that decide ingress at each destination pod.
	have := map[string]bool{}
	for _, p := range s.PolicySpecs {
		have[p.Namespace+"/"+p.Name] = true
	}
	for i := range s.Destinations {
		d := &s.Destinations[i]
		for _, e := range d.Endpoints {
			if !e.Pod {
				continue
			}
			nps, err := l.NetworkPolicies(ctx, e.Namespace)
			if err != nil {
				d.IngressError = fmt.Sprintf("cannot list networkpolicies in namespace %s: %v", e.Namespace, err)
				continue
			}
			for _, p := range netpol.FromAPI(nps) {
				if k := p.Namespace + "/" + p.Name; !have[k] && p.Selects(e.Endpoint) {
					have[k] = true
					s.PolicySpecs = append(s.PolicySpecs, p)
				}
			}
		}
	}
	addCalico(ctx, s, pod, l)
	sort.Slice(s.PolicySpecs, func(i, j int) bool {
		a, b := s.PolicySpecs[i], s.PolicySpecs[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

type resolver struct {
	ctx      context.Context
	l        apisection.Lister
	self     *corev1.Pod
	peers    []*corev1.Pod
	nsLabels map[string]map[string]string
}

// endpoint is a pod as policies see it.
func (r *resolver) endpoint(p *corev1.Pod, addr string, port int) Endpoint {
	e := Endpoint{Address: addr, Port: port, Endpoint: netpol.Endpoint{Pod: true, Namespace: p.Namespace, Name: p.Name,
		Labels: p.Labels, ServiceAccount: p.Spec.ServiceAccountName, HostNetwork: p.Spec.HostNetwork}}
	e.NamespaceLabels = r.namespaceLabels(p.Namespace)
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name != "" {
				e.Ports = append(e.Ports, netpol.NamedPort{Name: cp.Name, Port: int(cp.ContainerPort), Protocol: protoOf(cp.Protocol)})
			}
		}
	}
	return e
}

func protoOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// namespaceLabels are nil when the namespace cannot be read: then only its name label is known.
func (r *resolver) namespaceLabels(ns string) map[string]string {
	if l, ok := r.nsLabels[ns]; ok {
		return l
	}
	var l map[string]string
	if n, err := r.l.Namespace(r.ctx, ns); err == nil {
		l = nonNil(n.Labels)
	}
	r.nsLabels[ns] = l
	return l
}

// resolve finds what the address is: a compared pod, a Service's ClusterIP (in the pod's
// namespace, a compared pod's, the one a name target names, kube-system for DNS), or any
// pod holding it; else an address outside the pods.
func (r *resolver) resolve(d *Destination, a netip.Addr) {
	for _, p := range append([]*corev1.Pod{r.self}, r.peers...) {
		if p != nil && hasIP(p, d.Address) {
			d.Endpoints = []Endpoint{r.endpoint(p, d.Address, d.Port)}
			return
		}
	}
	var refused []string
	for _, ns := range r.candidates(d) {
		svcs, err := r.l.Services(r.ctx, ns)
		if err != nil {
			refused = append(refused, fmt.Sprintf("cannot list services in namespace %s: %v", ns, err))
			continue
		}
		for i := range svcs {
			if sp := servicePort(&svcs[i], a, d); sp != nil {
				r.serviceEndpoints(d, &svcs[i], sp, a)
				return
			}
		}
	}
	pods, err := r.l.PodsByIP(r.ctx, d.Address)
	if err != nil {
		refused = append(refused, fmt.Sprintf("cannot look %s up among pods: %v", d.Address, err))
		d.Endpoints = []Endpoint{{Address: d.Address, Port: d.Port, Endpoint: netpol.Endpoint{Unknown: strings.Join(refused, "; ")}}}
		return
	}
	for i := range pods {
		if hasIP(&pods[i], d.Address) && !pods[i].Spec.HostNetwork {
			d.Endpoints = []Endpoint{r.endpoint(&pods[i], d.Address, d.Port)}
			return
		}
	}
	d.Endpoints = []Endpoint{{Address: d.Address, Port: d.Port}}
}

func hasIP(p *corev1.Pod, ip string) bool {
	for _, x := range p.Status.PodIPs {
		if x.IP == ip {
			return true
		}
	}
	return p.Status.PodIP == ip
}

// candidates are the namespaces whose Services the address may belong to.
func (r *resolver) candidates(d *Destination) []string {
	out := []string{r.self.Namespace}
	for _, p := range r.peers {
		if p != nil {
			out = append(out, p.Namespace)
		}
	}
	// "db.shop", "db.shop.svc", "db.shop.svc.cluster.local"
	host := d.Target
	if _, rest, ok := strings.Cut(host, "://"); ok {
		host = rest
	}
	host, _, _ = strings.Cut(host, ":")
	if parts := strings.Split(strings.TrimSuffix(host, "."), "."); len(parts) >= 2 {
		if _, err := netip.ParseAddr(host); err != nil {
			out = append(out, parts[1])
		}
	}
	if d.DNS || d.Port == 53 {
		out = append(out, "kube-system")
	}
	// The API service (kubernetes in default), which every pod probes.
	out = append(out, "default")
	seen := map[string]bool{}
	uniq := out[:0]
	for _, ns := range out {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			uniq = append(uniq, ns)
		}
	}
	return uniq
}

func servicePort(svc *corev1.Service, a netip.Addr, d *Destination) *corev1.ServicePort {
	match := false
	for _, ip := range svc.Spec.ClusterIPs {
		if x, err := netip.ParseAddr(ip); err == nil && x == a {
			match = true
		}
	}
	if !match && svc.Spec.ClusterIP == a.String() {
		match = true
	}
	if !match {
		return nil
	}
	// A ping to a ClusterIP is not DNATed (no port): it is no Service traffic.
	for i, p := range svc.Spec.Ports {
		if int(p.Port) == d.Port && protoOf(p.Protocol) == corev1.Protocol(d.Protocol) {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// serviceEndpoints are the Service's serving endpoints for the port, in the address's family.
func (r *resolver) serviceEndpoints(d *Destination, svc *corev1.Service, sp *corev1.ServicePort, a netip.Addr) {
	d.Service = svc.Namespace + "/" + svc.Name
	if svc.Namespace == "kube-system" && svc.Name == "kube-dns" {
		d.DNS = true
	}
	slices, err := r.l.EndpointSlices(r.ctx, svc.Namespace)
	if err != nil {
		d.Endpoints = []Endpoint{{Address: d.Address, Port: d.Port, Endpoint: netpol.Endpoint{
			Unknown: fmt.Sprintf("cannot list endpointslices in namespace %s: %v", svc.Namespace, err)}}}
		return
	}
	family := discoveryv1.AddressTypeIPv4
	if a.Is6() {
		family = discoveryv1.AddressTypeIPv6
	}
	var pods []corev1.Pod
	var podsErr error
	podsListed := false
	for _, s := range slices {
		if s.Labels[discoveryv1.LabelServiceName] != svc.Name || s.AddressType != family {
			continue
		}
		port := 0
		for _, p := range s.Ports {
			if (p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name) && p.Port != nil {
				port = int(*p.Port)
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if c := e.Conditions; c.Ready != nil && !*c.Ready && !(c.Serving != nil && *c.Serving) || len(e.Addresses) == 0 {
				continue
			}
			if len(d.Endpoints) >= maxEndpoints {
				d.Truncated = true
				return
			}
			ep := Endpoint{Address: e.Addresses[0], Port: port}
			if ref := e.TargetRef; ref != nil && ref.Kind == "Pod" {
				if !podsListed {
					podsListed = true
					pods, podsErr = r.l.Pods(r.ctx, svc.Namespace)
				}
				found := false
				for i := range pods {
					if pods[i].Name == ref.Name {
						ep = r.endpoint(&pods[i], ep.Address, port)
						found = true
					}
				}
				if !found {
					ep.Unknown = fmt.Sprintf("pod %s/%s not found", svc.Namespace, ref.Name)
					if podsErr != nil {
						ep.Unknown = fmt.Sprintf("cannot list pods in namespace %s: %v", svc.Namespace, podsErr)
					}
				}
			}
			d.Endpoints = append(d.Endpoints, ep)
		}
	}
}

func corev1Protocol(p string) corev1.Protocol { return corev1.Protocol(p) }

// addCalico keeps Calico's own policies that select the pod or a destination pod.
func addCalico(ctx context.Context, s *Section, pod *corev1.Pod, l apisection.Lister) {
	ends := []netpol.Endpoint{s.self()}
	nss := []string{"", pod.Namespace}
	for _, d := range s.Destinations {
		for _, e := range d.Endpoints {
			if e.Pod {
				ends = append(ends, e.Endpoint)
				nss = append(nss, e.Namespace)
			}
		}
	}
	seen := map[string]bool{}
	var errs []string
	for _, ns := range nss {
		if seen["ns:"+ns] {
			continue
		}
		seen["ns:"+ns] = true
		ps, err := l.CalicoPolicies(ctx, ns)
		if err != nil {
			what := "networkpolicies.projectcalico.org in namespace " + ns
			if ns == "" {
				what = "globalnetworkpolicies.projectcalico.org"
			}
			errs = append(errs, fmt.Sprintf("cannot list %s: %v", what, err))
			continue
		}
		for _, p := range ps {
			k := p.Kind + "/" + p.Namespace + "/" + p.Name
			if seen[k] {
				continue
			}
			for _, e := range ends {
				if p.Selects(e) {
					seen[k] = true
					s.CalicoPolicies = append(s.CalicoPolicies, p)
					break
				}
			}
		}
	}
	s.CalicoPoliciesError = strings.Join(errs, "; ")
}
