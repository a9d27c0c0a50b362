// Package services turns what the API server knows about the Services a pod's probes
// reached (by ClusterIP) into the report's "services" section: which Service a connect
// target hit and how many ready endpoints it has. A Service without ready endpoints is
// what kube-proxy rejects (ECONNREFUSED) or drops, so an empty Service is named as the
// cause of the connects that fail against it.
package services

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/apisection"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// SectionName is the report section this package fills.
const SectionName = "services"

// Section is the JSON shape of sections.services. When the namespace's Services or
// EndpointSlices cannot be listed (RBAC), the report carries the section as a problem
// instead, like a section the prober failed to collect.
type Section struct {
	// Targets are the connect targets whose address is a Service's ClusterIP.
	Targets []Target `json:"targets"`
}

// Target is one connect target address that is a Service's ClusterIP and port.
type Target struct {
	Target  string `json:"target"`  // as the connect section names it: "tcp://web:80"
	AddrKey string `json:"addrKey"` // the address's key there: "ipv4"
	Address string `json:"address"`
	Port    int    `json:"port"`
	Service string `json:"service"` // namespace/name
	// PortName is the Service port's name; EndpointSlices name their ports after it.
	PortName string `json:"portName,omitempty"`
	Ready    int    `json:"ready"`
	// Terminating counts endpoints that still serve while terminating: kube-proxy sends
	// to them when no endpoint is ready.
	Terminating int `json:"terminating,omitempty"`
	NotReady    int `json:"notReady"`
}

// Key is the target's fact key: "tcp://web:80/ipv4".
func (t Target) Key() string { return t.Target + "/" + t.AddrKey }

// connectTargets is what this package reads of the connect section (its documented
// schema, docs/sections/connect.md): each target's addresses.
type connectTargets struct {
	Targets []struct {
		Target    string `json:"target"`
		Scheme    string `json:"scheme"`
		Port      int    `json:"port"`
		Addresses []struct {
			Address string `json:"address"`
			Key     string `json:"key"`
		} `json:"addresses"`
	} `json:"targets"`
}

// Lister lists a namespace's Services and EndpointSlices (the typed clients fit it).
type Lister interface {
	Services(ctx context.Context, ns string) ([]corev1.Service, error)
	EndpointSlices(ctx context.Context, ns string) ([]discoveryv1.EndpointSlice, error)
}

// Build reads the report's connect section and finds, among the Services of namespace
// ns, those whose ClusterIP and port a target reached. It returns nil when the report
// probed no address at all (nothing to look up, nothing listed), and an error naming
// the list that was refused.
func Build(ctx context.Context, rep *report.Report, ns string, l Lister) (*Section, error) {
	var ct connectTargets
	if ok, err := rep.Section("connect", &ct); !ok || err != nil || len(ct.Targets) == 0 {
		return nil, nil
	}
	sec := &Section{Targets: []Target{}}
	svcs, err := l.Services(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("cannot list services in namespace %s: %w", ns, err)
	}
	byIP := map[netip.Addr][]*corev1.Service{}
	for i := range svcs {
		for _, ip := range svcs[i].Spec.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				byIP[a] = append(byIP[a], &svcs[i])
			}
		}
	}
	var slices []discoveryv1.EndpointSlice
	listed := false
	for _, t := range ct.Targets {
		if t.Scheme != "tcp" && t.Scheme != "udp" {
			continue
		}
		for _, a := range t.Addresses {
			ip, err := netip.ParseAddr(a.Address)
			if err != nil {
				continue
			}
			ip = ip.Unmap()
			for _, svc := range byIP[ip] {
				sp := servicePort(svc, t.Scheme, t.Port)
				if sp == nil {
					continue
				}
				if !listed {
					listed = true
					if slices, err = l.EndpointSlices(ctx, ns); err != nil {
						return nil, fmt.Errorf("cannot list endpointslices in namespace %s: %w", ns, err)
					}
				}
				x := Target{Target: t.Target, AddrKey: a.Key, Address: a.Address, Port: t.Port,
					Service: svc.Namespace + "/" + svc.Name, PortName: sp.Name}
				count(&x, slices, svc.Name, sp.Name, ip)
				sec.Targets = append(sec.Targets, x)
			}
		}
	}
	sort.Slice(sec.Targets, func(i, j int) bool { return sec.Targets[i].Key() < sec.Targets[j].Key() })
	return sec, nil
}

func servicePort(svc *corev1.Service, scheme string, port int) *corev1.ServicePort {
	proto := corev1.ProtocolTCP
	if scheme == "udp" {
		proto = corev1.ProtocolUDP
	}
	for i, p := range svc.Spec.Ports {
		if int(p.Port) == port && (p.Protocol == proto || p.Protocol == "" && proto == corev1.ProtocolTCP) {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// count counts the Service's endpoints that serve the named port in the ClusterIP's
// address family: ready (no ready condition counts as ready, as kube-proxy counts it),
// serving while terminating, and the rest.
func count(t *Target, slices []discoveryv1.EndpointSlice, service, port string, ip netip.Addr) {
	family := discoveryv1.AddressTypeIPv4
	if ip.Is6() {
		family = discoveryv1.AddressTypeIPv6
	}
	for _, s := range slices {
		if s.Labels[discoveryv1.LabelServiceName] != service || s.AddressType != family || !hasPort(s.Ports, port) {
			continue
		}
		for _, e := range s.Endpoints {
			c := e.Conditions
			switch {
			case c.Ready == nil || *c.Ready:
				t.Ready++
			case c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating:
				t.Terminating++
			default:
				t.NotReady++
			}
		}
	}
}

func hasPort(ports []discoveryv1.EndpointPort, name string) bool {
	for _, p := range ports {
		if p.Name != nil && *p.Name == name || p.Name == nil && name == "" {
			return true
		}
	}
	return false
}

// readyValue words a target's endpoints as its fact: only whether anything serves the
// Service counts (ready endpoints, or terminating ones kube-proxy falls back to); the
// counts are Info (replicas of two Deployments differ by design).
func readyValue(t Target) string {
	if t.Ready > 0 || t.Terminating > 0 {
		return "serving endpoints"
	}
	return "no ready endpoints"
}

func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	for _, t := range s.Targets {
		out = append(out,
			probe.Fact{Key: "endpoints/" + t.Key(), Value: readyValue(t)},
			probe.Fact{Key: "service/" + t.Key(), Value: t.Service, Kind: probe.ShowOnly},
			probe.Fact{Key: "count/" + t.Key(), Value: fmt.Sprintf("%d ready, %d terminating, %d not ready", t.Ready, t.Terminating, t.NotReady), Kind: probe.ShowOnly})
	}
	return out
}

// noReadyEndpoints: a target that is a Service without ready endpoints in some subjects
// and with them in others. kube-proxy answers a connect to such a Service with a reject
// (ECONNREFUSED, or a timeout where ICMP is dropped); the Service, not the network, is
// what differs.
func noReadyEndpoints(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, SectionName)
	type cell struct {
		i int
		t Target
	}
	byKey := map[string][]cell{}
	for i, s := range secs {
		if s == nil {
			continue
		}
		for _, t := range s.Targets {
			k := c.NormaliseFor(i, "endpoints/"+t.Key())
			byKey[k] = append(byKey[k], cell{i, t})
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []contract.Finding
	for _, k := range keys {
		var empty, served []cell
		for _, x := range byKey[k] {
			if x.t.Ready == 0 && x.t.Terminating == 0 {
				empty = append(empty, x)
			} else {
				served = append(served, x)
			}
		}
		if len(empty) == 0 || len(served) == 0 {
			continue
		}
		other := served[0]
		for _, x := range empty {
			notReady := ""
			if x.t.NotReady > 0 {
				notReady = fmt.Sprintf(" (%d not ready)", x.t.NotReady)
			}
			// The endpoints were listed after the probes: a cause only where the connects
			// to that address did fail; else what the API says now, as context.
			kind, sev := contract.Context, contract.Info
			if connectsFailed(c, x.i, strings.TrimPrefix(k, "endpoints/")) {
				kind, sev = contract.Cause, contract.High
			}
			out = append(out, contract.Finding{
				Kind:     kind,
				Severity: sev,
				Subject:  c.Subjects[x.i],
				Message: fmt.Sprintf("%s reaches Service %s (%s:%d) through %s, and it has no ready endpoints%s: kube-proxy rejects connections to it (ECONNREFUSED) or drops them; %s reaches Service %s with %d ready",
					c.Subjects[x.i], x.t.Service, x.t.Address, x.t.Port, x.t.Target, notReady, c.Subjects[other.i], other.t.Service, other.t.Ready),
				Keys: []string{SectionName + "/" + k},
			})
		}
	}
	return out
}

// connectsFailed: some TCP connect method row ("tcp/blocking/tcp://web:80/ipv4", its
// bursts and as-app forms) or UDP row of subject i to target/addrKey is present and not
// all ok. The connect section's keys, documented in docs/sections/connect.md.
func connectsFailed(c *contract.Comparison, i int, targetKey string) bool {
	for _, r := range c.Section("connect") {
		method, rest, ok := strings.Cut(r.Key, "/")
		if !ok || !r.Present(i) || strings.HasPrefix(r.Values[i], "ok ") || strings.HasSuffix(r.Key, "/latency") {
			continue
		}
		if method == "udp" && rest == targetKey {
			return true
		}
		if m, t, ok := strings.Cut(rest, "/"); ok && method == "tcp" && m != "pmtu" && t == targetKey {
			return true
		}
	}
	return false
}

// analysis: a connect probe to a Service's ClusterIP goes through the Service's endpoints.
var analysis = contract.Analysis{Role: contract.State, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto != "tcp" && p.Proto != "udp" || p.AddrKey == "" {
		return nil
	}
	return []string{"endpoints/" + p.Target + "/" + p.AddrKey}
}}

// The diff reads the "services" section like a prober section; kubectl-netdiff fills it
// from the API (the prober never does).
func init() {
	apisection.Register(section.Descriptor[Section]{
		Name:     SectionName,
		Facts:    facts,
		Rules:    map[string]contract.Rule{"no-ready-endpoints": noReadyEndpoints},
		Analysis: &analysis,
	}, func(ctx context.Context, in *apisection.Input) (*Section, error) {
		return Build(ctx, in.Report, in.Pod.Namespace, in.Lister)
	})
}
