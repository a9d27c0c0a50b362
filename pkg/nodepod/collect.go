package nodepod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// ErrHostNetwork is returned for a hostNetwork subject: its node side is the node itself,
// which its own report already shows.
var ErrHostNetwork = errors.New("the pod uses the node's network: its own report is the node side")

// ForbiddenError is a node pod the cluster refused: Pod Security Admission or RBAC.
type ForbiddenError struct {
	// By is "Pod Security" or "RBAC".
	By        string
	Namespace string
	Err       error
}

func (e *ForbiddenError) Error() string {
	if e.By == "Pod Security" {
		return fmt.Sprintf("the namespace's Pod Security level forbids the privileged node pod netdiff needs for --node-side and --via node; run it in a namespace that allows privileged pods with --node-namespace (namespace %s: %v)", e.Namespace, e.Err)
	}
	return fmt.Sprintf(`--node-side and --via node need "create" on "pods" in namespace %s to start a privileged node pod (and "list", "watch" and "delete" on "pods", "create" on "pods/exec"); ask for them or pick a namespace where you have them with --node-namespace (%v)`, e.Namespace, e.Err)
}

func (e *ForbiddenError) Unwrap() error { return e.Err }

// Request is one node-side collection.
type Request struct {
	Client kubernetes.Interface
	Config *rest.Config
	// Subject is the pod whose node side is wanted; Report is its own report, which holds
	// the peer index of its eth0 (the host veth's ifindex).
	Subject *corev1.Pod
	Report  *report.Report
	// Spec gives the prober image, pull policy and version; its profile is not used (the
	// node pod is always sysadmin).
	Spec inject.Spec
	// NodeNamespace is where the node pod runs; "" means the subject's namespace.
	NodeNamespace string
	// Timeout bounds starting the node pod and collecting in it (default 60s).
	Timeout time.Duration
	// MaxReport caps the prober's report (podrun.DefaultMaxReport when 0).
	MaxReport int64
	Progress  func(string)
	// NoWait returns from Start once the pod is created: the watcher of its start reports
	// to Watch, which execs as soon as the container runs, before the API says so.
	NoWait bool
}

// Collect starts a node pod on subjectPod's node, runs the prober there for the pod's IPs
// and veth, returns the nodeside section, and deletes the node pod on every path.
func Collect(ctx context.Context, client kubernetes.Interface, cfg *rest.Config, subjectPod *corev1.Pod, subjectReport *report.Report, spec inject.Spec, progress func(string)) (json.RawMessage, error) {
	return Request{Client: client, Config: cfg, Subject: subjectPod, Report: subjectReport, Spec: spec, Progress: progress}.Collect(ctx)
}

// Collect runs the request; see the function Collect.
func (r Request) Collect(ctx context.Context) (json.RawMessage, error) {
	if r.Subject.Spec.HostNetwork {
		return nil, ErrHostNetwork
	}
	args, err := ProberArgs(r.Subject, r.Report)
	if err != nil {
		return nil, err
	}
	if r.Timeout <= 0 {
		r.Timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	p, err := Start(ctx, r)
	if err != nil {
		return nil, err
	}
	defer p.Delete()
	return p.NodeSide(ctx, args)
}

// Pod is a running node pod: the prober on a pod's node, privileged, in the node's
// network and PID namespaces. It collects the node side of the pod (--node-side) and the
// pod itself from outside (--via node), and is deleted when done.
type Pod struct {
	// ID is its namespace/name.
	ID       string
	pod      *corev1.Pod
	pods     corev1client.PodInterface
	runner   *podrun.Runner
	progress func(string)
	// waitErr is the verdict of the watcher of a NoWait start.
	waitErr chan error
}

// Start creates the node pod for r.Subject and waits until it runs, within ctx. A pod
// created although Create failed (an interrupted request) is deleted by the name netdiff
// gave it.
func Start(ctx context.Context, r Request) (*Pod, error) {
	progress := r.Progress
	if progress == nil {
		progress = func(string) {}
	}
	want, err := NodePod(r.Subject, r.NodeNamespace, r.Spec)
	if err != nil {
		return nil, err
	}
	pods := r.Client.CoreV1().Pods(want.Namespace)
	created, err := pods.Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		if deleted, _ := inject.DeleteAfterFailedCreate(pods, want.Name, err); deleted {
			progress(fmt.Sprintf("deleted node pod %s/%s (created although the request failed)", want.Namespace, want.Name))
		}
		return nil, createError(want, err)
	}
	p := &Pod{ID: created.Namespace + "/" + created.Name, pod: created, pods: pods, progress: progress,
		runner: &podrun.Runner{Client: r.Client, Config: r.Config, Spec: r.Spec, MaxReport: r.MaxReport,
			Progress: func(_, msg string) { progress(msg) }}}
	progress(fmt.Sprintf("started node pod %s on node %s", p.ID, created.Spec.NodeName))
	if r.NoWait {
		p.waitErr = make(chan error, 1)
		go func() {
			if err := inject.WaitRunning(ctx, pods, created.Name, Container, r.Spec.Image); err != nil {
				p.waitErr <- &podrun.StepError{Pod: p.ID, Step: "wait for node pod", Err: err}
				return
			}
			p.waitErr <- nil
		}()
		return p, nil
	}
	if err := inject.WaitRunning(ctx, pods, created.Name, Container, r.Spec.Image); err != nil {
		p.Delete()
		return nil, &podrun.StepError{Pod: p.ID, Step: "wait for node pod", Err: err}
	}
	return p, nil
}

// Collect runs the prober's collect with args in the node pod.
func (p *Pod) Collect(ctx context.Context, args []string, tm *podrun.Timings) (*report.Report, error) {
	return p.runner.CollectRunning(ctx, p.pod, Container, args, tm)
}

// NodeSide collects the nodeside section in the node pod, with args from ProberArgs.
func (p *Pod) NodeSide(ctx context.Context, args []string) (json.RawMessage, error) {
	rep, err := p.Collect(ctx, args, nil)
	if err != nil {
		return nil, err
	}
	return Extract(rep, p.ID)
}

// Delete deletes the node pod, with a deadline of its own (it runs on every path, also
// after the run's context ended).
func (p *Pod) Delete() {
	if _, err := inject.DeletePod(p.pods, p.pod.Name); err != nil {
		p.progress(fmt.Sprintf("warning: could not delete node pod %s: %v (its prober exits by itself after %s; delete it with: kubectl delete pod -n %s %s)", p.ID, err, IdleTimeout, p.pod.Namespace, p.pod.Name))
		return
	}
	p.progress(fmt.Sprintf("deleted node pod %s", p.ID))
}

// ProberArgs are the collect flags for subject's node side (section.NodeSide): --pod-ip
// for each of its IPs and what the node-side section reads of its report.
func ProberArgs(subject *corev1.Pod, rep *report.Report) ([]string, error) {
	var ips []string
	for _, ip := range subject.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && subject.Status.PodIP != "" {
		ips = []string{subject.Status.PodIP}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("pod %s/%s has no IP yet: its node side cannot be looked up", subject.Namespace, subject.Name)
	}
	name, args := section.NodeSide(rep, ips)
	if name == "" {
		return nil, fmt.Errorf("this kubectl-netdiff has no node-side section (built without it): --node-side and --via node cannot read the node's half")
	}
	return append([]string{args[0], args[1], "--quiet"}, args[2:]...), nil // --only NAME first
}

// Extract returns the nodeside section of the node pod's report, or the prober's reason
// for not writing it.
func Extract(rep *report.Report, nodePod string) (json.RawMessage, error) {
	name := section.NodeSideName()
	if raw, ok := rep.Sections[name]; ok {
		return raw, nil
	}
	for _, p := range rep.Problems {
		if p.Section == name {
			return nil, fmt.Errorf("node pod %s: the prober could not read the node side: %s", nodePod, p.Error.Name())
		}
	}
	return nil, fmt.Errorf("node pod %s: the prober's report has no %s section (is --image a prober of this version?)", nodePod, name)
}

// createError tells Pod Security from RBAC; other admission refusals (a missing
// ServiceAccount, a policy engine) are Forbidden too and keep the API server's words.
func createError(want *corev1.Pod, err error) error {
	msg := err.Error()
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(msg, "violates PodSecurity"):
		return &ForbiddenError{By: "Pod Security", Namespace: want.Namespace, Err: err}
	case apierrors.IsForbidden(err) && strings.Contains(msg, "cannot create resource"):
		return &ForbiddenError{By: "RBAC", Namespace: want.Namespace, Err: err}
	}
	return fmt.Errorf("create node pod %s/%s (for --node-side or --via node): %w", want.Namespace, want.Name, err)
}
