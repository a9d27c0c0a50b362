package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/netdiff/kubectl-netdiff/pkg/apisection"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/nodepod"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/safe"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// Write then rename, so an interrupted save never leaves a half report under the real name.
	tmp := path + ".tmp"
	_ = os.Remove(tmp) // WriteFile keeps the mode of a file that is already there
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printYAML(w io.Writer, comment string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "# %s\n%s---\n", comment, b)
	return err
}

// attach records which pod a report is about; the diff uses the IPs for <self>/<peer>.
func attach(s *subject) {
	ips := []string{}
	for _, ip := range s.pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	s.report.Subject = &report.Subject{
		Name:      s.name,
		Namespace: s.pod.Namespace,
		Pod:       s.pod.Name,
		Container: s.container,
		Node:      s.pod.Spec.NodeName,
		IPs:       ips,
	}
}

// attachAPISections adds the sections read from the API (pkg/apisection: those
// kubectl-netdiff registers), each reader given the pod, the other pods compared, the
// prober's report and the run's lists. A reader's error, or a panic, is that section's
// Problem, as when the prober cannot collect one: the diff says so and why.
func (r *run) attachAPISections(ctx context.Context, s *subject) {
	in := &apisection.Input{Pod: s.pod, Report: s.report, Lister: apiLister{r}, OwnContainerPrefix: inject.NamePrefix}
	for _, p := range r.subjectPods {
		if p != s.pod {
			in.Peers = append(in.Peers, p)
		}
	}
	for _, e := range apisection.Readers() {
		v, err := safe.Call(func() (any, error) { return e.Value(ctx, in) })
		if err == nil && v != nil {
			var raw []byte
			if raw, err = json.Marshal(v); err == nil {
				s.report.Sections[e.Name] = raw
			}
		}
		if err != nil {
			s.report.Problems = append(s.report.Problems, report.Problem{Section: e.Name, Error: report.ErrorOf(err)})
		}
	}
}

// networkPolicies lists a namespace's NetworkPolicies once per run.
func (r *run) networkPolicies(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
	return r.policies.get(ctx, ns, func(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
		l, err := r.client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return l.Items, nil
	})
}

// prefetchLists starts the lists every probed pod's facts need (its namespace's
// NetworkPolicies and Services) while the pods are probed, so the API sections find them
// ready instead of adding two round trips after the probe window. EndpointSlices are
// listed only when a probe reached a Service of the namespace, so they are not fetched
// ahead.
func (r *run) prefetchLists(ctx context.Context, subjects []*subject) {
	seen := map[string]bool{}
	r.subjectPods = nil
	for _, s := range subjects {
		if s.pod != nil && s.err == nil {
			r.subjectPods = append(r.subjectPods, s.pod)
		}
	}
	for _, s := range subjects {
		if s.pod == nil || s.err != nil || seen[s.pod.Namespace] {
			continue
		}
		ns := s.pod.Namespace
		seen[ns] = true
		// Within a pod's deadline: a list that hangs is cut and not kept, and the pods
		// that need it list again within theirs (nsLists).
		go func() {
			lctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			_, _ = r.networkPolicies(lctx, ns)
		}()
		go func() {
			lctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			_, _ = apiLister{r}.Services(lctx, ns)
		}()
		go func() {
			lctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			_, _ = apiLister{r}.Namespace(lctx, ns)
		}()
	}
}

// apiLister is the apisection.Lister of a run: each namespace's lists (Services,
// EndpointSlices, pods, NetworkPolicies, Calico's policies) read once per run and shared
// by every section and pod.
type apiLister struct{ r *run }

func (l apiLister) Services(ctx context.Context, ns string) ([]corev1.Service, error) {
	return l.r.services.get(ctx, ns, func(ctx context.Context, ns string) ([]corev1.Service, error) {
		list, err := l.r.client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}

func (l apiLister) EndpointSlices(ctx context.Context, ns string) ([]discoveryv1.EndpointSlice, error) {
	return l.r.slices.get(ctx, ns, func(ctx context.Context, ns string) ([]discoveryv1.EndpointSlice, error) {
		list, err := l.r.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}

func (l apiLister) Pods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	return l.r.podLists.get(ctx, ns, func(ctx context.Context, ns string) ([]corev1.Pod, error) {
		list, err := l.r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}

// PodsByIP asks every namespace for the pods holding an address (a field selector: one
// small answer), once per address per run.
func (l apiLister) PodsByIP(ctx context.Context, ip string) ([]corev1.Pod, error) {
	return l.r.podsByIP.get(ctx, ip, func(ctx context.Context, ip string) ([]corev1.Pod, error) {
		list, err := l.r.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "status.podIP=" + ip})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}

func (l apiLister) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	items, err := l.r.namespaces.get(ctx, name, func(ctx context.Context, name string) ([]corev1.Namespace, error) {
		n, err := l.r.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []corev1.Namespace{*n}, nil
	})
	if err != nil {
		return nil, err
	}
	return &items[0], nil
}

func (l apiLister) NetworkPolicies(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
	return l.r.networkPolicies(ctx, ns)
}

// calicoGroups are where Calico's policies may be served: its API server's
// projectcalico.org/v3, else the crd.projectcalico.org/v1 CRDs Felix reads (same spec).
var calicoGroups = []schema.GroupVersion{{Group: "projectcalico.org", Version: "v3"}, {Group: "crd.projectcalico.org", Version: "v1"}}

// CalicoPolicies lists Calico's NetworkPolicies of a namespace (GlobalNetworkPolicies for
// ns ""), through the dynamic client; none where neither group serves them.
func (l apiLister) CalicoPolicies(ctx context.Context, ns string) ([]netpol.CalicoPolicy, error) {
	key := ns
	if ns == "" {
		key = "\x00global"
	}
	return l.r.calico.get(ctx, key, func(ctx context.Context, _ string) ([]netpol.CalicoPolicy, error) {
		if l.r.restConfig == nil {
			return nil, nil
		}
		dc, err := dynamic.NewForConfig(l.r.restConfig)
		if err != nil {
			return nil, err
		}
		kind, resource := "NetworkPolicy", "networkpolicies"
		if ns == "" {
			kind, resource = "GlobalNetworkPolicy", "globalnetworkpolicies"
		}
		for _, gv := range calicoGroups {
			res := dc.Resource(gv.WithResource(resource))
			var list *unstructured.UnstructuredList
			if ns == "" {
				list, err = res.List(ctx, metav1.ListOptions{})
			} else {
				list, err = res.Namespace(ns).List(ctx, metav1.ListOptions{})
			}
			if apierrors.IsNotFound(err) {
				continue // not served here
			}
			if err != nil {
				return nil, err
			}
			out := make([]netpol.CalicoPolicy, 0, len(list.Items))
			for _, it := range list.Items {
				p := netpol.CalicoPolicy{Kind: kind, Namespace: it.GetNamespace(), Name: it.GetName()}
				raw, err := json.Marshal(it.Object["spec"])
				if err == nil {
					err = json.Unmarshal(raw, &p.Spec)
				}
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", kind, it.GetName(), err)
				}
				out = append(out, p)
			}
			return out, nil
		}
		return nil, nil
	})
}

// apiServiceTargets returns the Kubernetes API service as a TCP target, when readable.
func (r *run) apiServiceTargets(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	svc, err := r.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil
	}
	port := 443
	for _, p := range svc.Spec.Ports {
		if p.Name == "https" {
			port = int(p.Port)
		}
	}
	return []string{target.Target{Scheme: target.TCP, Host: svc.Spec.ClusterIP, Port: port}.String()}
}

// collectArgs are the prober flags for one pod: the user's targets, the API service, the
// other pods' IPs and declared ports (gently: they are somebody's application), plus the
// prober's own defaults (nameservers, gateway).
func (r *run) collectArgs(self *subject, all []*subject, apiTargets []string) []string {
	window := "--timeout"
	if r.WatchWindow {
		window = "--window"
	}
	args := []string{"--defaults",
		window, r.Window.String(),
		"--attempts", strconv.Itoa(r.Attempts),
		"--spread", r.Spread.String(),
		"--burst", strconv.Itoa(r.Burst)}
	seen := map[string]bool{}
	add := func(flag string, ts []string) {
		for _, t := range ts {
			// Canonical spelling, so 10.0.0.1:80 and tcp://10.0.0.1:80 are one target.
			if tg, err := target.Parse(t); err == nil {
				t = tg.String()
			}
			if !seen[t] {
				seen[t] = true
				args = append(args, flag, t)
			}
		}
	}
	add("--target", r.Targets)
	add("--target", apiTargets)
	// With more than two pods every pod would probe every other one (n² targets, each
	// row about one peer only); they share the common targets instead.
	for _, peer := range all {
		if len(all) == 2 && peer != self && peer.pod != nil {
			// A reference pod has no application: both sides only ping each other.
			add("--gentle-target", PeerTargets(peer.pod, !self.reference && !peer.reference))
		}
	}
	return args
}

// PeerTargets are a pod's IPs (ICMP) and, withPorts, its declared container ports, as
// another pod would reach them.
func PeerTargets(pod *corev1.Pod, withPorts bool) []string {
	var out []string
	for _, ip := range pod.Status.PodIPs {
		if net.ParseIP(ip.IP) == nil {
			continue
		}
		out = append(out, target.Target{Scheme: target.ICMP, Host: ip.IP}.String())
		if !withPorts {
			continue
		}
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				scheme := target.TCP
				switch p.Protocol {
				case corev1.ProtocolUDP:
					scheme = target.UDP
				case corev1.ProtocolSCTP:
					continue
				}
				out = append(out, target.Target{Scheme: scheme, Host: ip.IP, Port: int(p.ContainerPort)}.String())
			}
		}
	}
	return out
}

// linePrefixer writes whole lines, each prefixed (the pod name), so the progress of pods
// probed at once does not interleave mid-line.
type linePrefixer struct {
	prefix string
	w      io.Writer
	mu     *sync.Mutex
	buf    []byte
}

func (l *linePrefixer) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.mu.Lock()
		// The prober's stderr comes from inside the pod: escape it before the terminal sees it.
		_, err := fmt.Fprintf(l.w, "%s%s\n", l.prefix, render.Sanitize(string(l.buf[:i])))
		l.mu.Unlock()
		l.buf = l.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}

// attachNodeSide adds the "nodeside" section: the pod as its node sees it. A hostNetwork
// pod's own report already is the node's view, so it gets none.
func (r *run) attachNodeSide(ctx context.Context, runner *podrun.Runner, s *subject) error {
	id := s.pod.Namespace + "/" + s.pod.Name
	start := time.Now()
	raw, err := nodepod.Request{
		Client: r.client, Config: r.restConfig, Subject: s.pod, Report: s.report,
		Spec: runner.Spec, NodeNamespace: r.NodeNamespace, Timeout: r.Timeout,
		Progress: func(m string) {
			if runner.Progress != nil {
				runner.Progress(id, m)
			}
		},
	}.Collect(ctx)
	s.timings.Add("node-side", start)
	switch {
	case errors.Is(err, nodepod.ErrHostNetwork):
		return nil
	case err != nil:
		return err
	}
	s.report.Sections[section.NodeSideName()] = raw
	return nil
}

// probeViaNode probes s from a node pod on its node, leaving the pod's spec as it is: the
// prober there finds the target container's process by its ID and collects inside its
// namespaces (as the app, in the app's cgroup too); the same node pod then collects the
// node side: it is already there, so the node's half of the path costs one exec more.
func (r *run) probeViaNode(ctx context.Context, runner *podrun.Runner, s *subject, args []string) (err error) {
	id := s.pod.Namespace + "/" + s.pod.Name
	cid, err := viaNodeTarget(s)
	if err != nil {
		return err
	}
	// What goes wrong in the node pod is told as this pod's, the node pod named beside it.
	defer func() {
		var se *podrun.StepError
		switch {
		case err == nil:
		case !errors.As(err, &se):
			err = &podrun.StepError{Pod: id, Step: "probe via node", Err: err}
		case se.Pod != id && se.NodePod == "":
			se.NodePod, se.Pod = se.Pod, id
		}
	}()
	start := time.Now()
	p, err := nodepod.Start(ctx, nodepod.Request{
		Client: r.client, Config: r.restConfig, Subject: s.pod, Spec: runner.Spec,
		NodeNamespace: r.NodeNamespace, MaxReport: r.MaxReportSize,
		Progress: func(m string) {
			if runner.Progress != nil {
				runner.Progress(id, m)
			}
		},
	})
	s.timings.Add("node-pod", start)
	if err != nil {
		return err
	}
	defer p.Delete()
	if s.report, err = p.Collect(ctx, append(args, "--container-id", cid, "--as-app-cgroup"), &s.timings); err != nil {
		return err
	}
	attach(s)
	r.attachAPISections(ctx, s)
	nargs, err := nodepod.ProberArgs(s.pod, s.report)
	if err != nil {
		return err
	}
	start = time.Now()
	raw, err := p.NodeSide(ctx, nargs)
	s.timings.Add("node-side", start)
	if err != nil {
		return err
	}
	s.report.Sections[section.NodeSideName()] = raw
	return nil
}

// viaNodeTarget is the container ID --via node enters in s, or why it cannot.
func viaNodeTarget(s *subject) (string, error) {
	id := s.pod.Namespace + "/" + s.pod.Name
	if s.pod.Spec.HostNetwork {
		return "", &podrun.StepError{Pod: id, Step: "find container", Err: fmt.Errorf("the pod uses its node's network: probe it without --via node")}
	}
	cid := containerID(s.pod, s.container)
	if cid == "" {
		return "", &podrun.StepError{Pod: id, Step: "find container", Err: fmt.Errorf("container %s has no container ID in the pod's status (not started yet?): --via node enters a running container", s.container)}
	}
	return cid, nil
}

// containerID is the runtime's ID of the named container ("containerd://…"), "" when the
// status has none yet.
func containerID(pod *corev1.Pod, container string) string {
	for _, st := range pod.Status.ContainerStatuses {
		if st.Name == container {
			return st.ContainerID
		}
	}
	return ""
}
