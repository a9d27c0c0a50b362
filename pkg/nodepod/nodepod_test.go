package nodepod

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // the node side, as kubectl-netdiff has it
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
)

func subject(mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-a", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", DNSPolicy: corev1.DNSClusterFirst,
			Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		Status: corev1.PodStatus{PodIP: "10.244.0.13", PodIPs: []corev1.PodIP{{IP: "10.244.0.13"}, {IP: "fd00::d"}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

var spec = inject.Spec{Image: "netdiff/netdiff-prober:v1", PullPolicy: corev1.PullIfNotPresent, Profile: "baseline", Version: "v1", IdleTimeout: 15 * time.Minute}

func TestNodePod(t *testing.T) {
	old := inject.NameSuffix
	inject.NameSuffix = func() string { return "abcde" }
	defer func() { inject.NameSuffix = old }()
	for _, tc := range []struct {
		name      string
		subject   *corev1.Pod
		namespace string
		wantNS    string
		wantErr   string
	}{
		{name: "subject's namespace", subject: subject(nil), wantNS: "shop"},
		{name: "--node-namespace", subject: subject(nil), namespace: "netdiff-privileged", wantNS: "netdiff-privileged"},
		{name: "pending pod", subject: subject(func(p *corev1.Pod) { p.Spec.NodeName = "" }), wantErr: "not scheduled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := NodePod(tc.subject, tc.namespace, spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pod.Name != "netdiff-node-abcde" || pod.Namespace != tc.wantNS || pod.Spec.NodeName != "node-1" {
				t.Errorf("name/namespace/node: %s/%s on %s", pod.Namespace, pod.Name, pod.Spec.NodeName)
			}
			if pod.Labels[inject.LabelManagedBy] != inject.ManagedBy || pod.Labels[LabelNodeSideFor] != "web-a" || len(pod.Labels) != 2 {
				t.Errorf("labels: %v", pod.Labels)
			}
			if !pod.Spec.HostNetwork || !pod.Spec.HostPID {
				t.Errorf("hostNetwork %v hostPID %v", pod.Spec.HostNetwork, pod.Spec.HostPID)
			}
			c := pod.Spec.Containers[0]
			if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
				t.Errorf("not privileged: %+v", c.SecurityContext)
			}
			if c.Image != spec.Image || c.ImagePullPolicy != spec.PullPolicy {
				t.Errorf("image %s %s", c.Image, c.ImagePullPolicy)
			}
			if got := strings.Join(c.Command, " "); got != "/netdiff-prober idle --timeout 2m0s --stamp /tmp/netdiff-last-use" {
				t.Errorf("command %q", got)
			}
			if len(pod.Spec.Volumes) != 0 || len(c.VolumeMounts) != 0 {
				t.Errorf("the node's root is mounted: %+v %+v", pod.Spec.Volumes, c.VolumeMounts)
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || *pod.Spec.AutomountServiceAccountToken || *pod.Spec.TerminationGracePeriodSeconds != 0 {
				t.Errorf("restart %s automount %v grace %d", pod.Spec.RestartPolicy, *pod.Spec.AutomountServiceAccountToken, *pod.Spec.TerminationGracePeriodSeconds)
			}
		})
	}
}

func podReport(t *testing.T, ifs ...interfaces.Interface) *report.Report {
	raw, err := json.Marshal(interfaces.Section{Interfaces: ifs})
	if err != nil {
		t.Fatal(err)
	}
	return &report.Report{Sections: map[string]json.RawMessage{interfaces.Name: raw}}
}

func TestProberArgs(t *testing.T) {
	eth0 := interfaces.Interface{Name: "eth0", PeerIndex: 17, Addrs: []interfaces.Addr{{CIDR: "10.244.0.13/24"}}}
	net1 := interfaces.Interface{Name: "net1", PeerIndex: 23, Addrs: []interfaces.Addr{{CIDR: "10.244.0.13/32"}}}
	bare := interfaces.Interface{Name: "eth0", PeerIndex: 31}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		rep     *report.Report
		want    string
		wantErr string
	}{
		{"dual stack, eth0", subject(nil), podReport(t, eth0), "--only nodeside --quiet --pod-ip 10.244.0.13 --pod-ip fd00::d --pod-ifindex 17", ""},
		{"the interface with the IP wins", subject(nil), podReport(t, interfaces.Interface{Name: "eth0", PeerIndex: 5}, net1), "--only nodeside --quiet --pod-ip 10.244.0.13 --pod-ip fd00::d --pod-ifindex 23", ""},
		{"eth0 without the IP", subject(nil), podReport(t, bare), "--only nodeside --quiet --pod-ip 10.244.0.13 --pod-ip fd00::d --pod-ifindex 31", ""},
		{"no report: route lookup", subject(func(p *corev1.Pod) { p.Status.PodIPs = nil }), nil, "--only nodeside --quiet --pod-ip 10.244.0.13", ""},
		{"no IP", subject(func(p *corev1.Pod) { p.Status.PodIPs, p.Status.PodIP = nil, "" }), nil, "", "no IP yet"},
	} {
		args, err := ProberArgs(tc.pod, tc.rep)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v", tc.name, err)
			}
			continue
		}
		if err != nil || strings.Join(args, " ") != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, strings.Join(args, " "), err, tc.want)
		}
	}
}

func forbid(msg string) k8stesting.ReactionFunc {
	return func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "netdiff-node-abcde", errors.New(msg))
	}
}

func TestCollectRefused(t *testing.T) {
	for _, tc := range []struct {
		name, msg, by, want string
	}{
		{"PSA", `violates PodSecurity "baseline:latest": privileged (container "netdiff" must not set securityContext.privileged=true), host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)`,
			"Pod Security", "the namespace's Pod Security level forbids the privileged node pod netdiff needs for --node-side and --via node; run it in a namespace that allows privileged pods with --node-namespace"},
		{"RBAC", `User "dev" cannot create resource "pods" in API group "" in the namespace "shop"`,
			"RBAC", `--node-side and --via node need "create" on "pods" in namespace shop`},
		{"other admission", `error looking up service account shop/default: serviceaccount "default" not found`,
			"", `create node pod shop/netdiff-node-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			cs.PrependReactor("create", "pods", forbid(tc.msg))
			_, err := Collect(context.Background(), cs, nil, subject(nil), nil, spec, nil)
			var fe *ForbiddenError
			if tc.by == "" {
				if errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) || !apierrors.IsForbidden(err) {
					t.Fatalf("err %v, want the API server's words after %q", err, tc.want)
				}
				return
			}
			if !errors.As(err, &fe) || fe.By != tc.by || !strings.Contains(err.Error(), tc.want) || !apierrors.IsForbidden(err) {
				t.Fatalf("err %v, want %s refusal with %q", err, tc.by, tc.want)
			}
		})
	}
}

func TestCollectHostNetwork(t *testing.T) {
	cs := fake.NewClientset()
	_, err := Collect(context.Background(), cs, nil, subject(func(p *corev1.Pod) { p.Spec.HostNetwork = true }), nil, spec, nil)
	if !errors.Is(err, ErrHostNetwork) {
		t.Fatalf("err %v", err)
	}
	if len(cs.Actions()) != 0 {
		t.Errorf("API calls for a hostNetwork pod: %v", cs.Actions())
	}
}

// Ctrl-C while the node pod starts: Collect returns and the pod is deleted anyway.
func TestCollectDeletesOnCancel(t *testing.T) {
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	var msgs []string
	done := make(chan error, 1)
	go func() {
		_, err := Request{Client: cs, Subject: subject(nil), Spec: spec, NodeNamespace: "priv",
			Progress: func(m string) { msgs = append(msgs, m) }}.Collect(ctx)
		done <- err
	}()
	// Wait for the create, then cancel: the fake kubelet never starts the pod.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, _ := cs.CoreV1().Pods("priv").List(context.Background(), metav1.ListOptions{})
		if len(l.Items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node pod never created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error after cancel")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Collect did not return after cancel")
	}
	l, _ := cs.CoreV1().Pods("priv").List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 0 {
		t.Errorf("node pod left behind: %s", l.Items[0].Name)
	}
	if len(msgs) < 2 || !strings.HasPrefix(msgs[len(msgs)-1], "deleted node pod priv/netdiff-node-") {
		t.Errorf("progress: %q", msgs)
	}
}

func TestExtract(t *testing.T) {
	ok := &report.Report{Sections: map[string]json.RawMessage{section.NodeSideName(): json.RawMessage(`{"podIPs":["10.244.0.13"]}`)}}
	if raw, err := Extract(ok, "ns/p"); err != nil || !strings.Contains(string(raw), "10.244.0.13") {
		t.Errorf("%s %v", raw, err)
	}
	failed := &report.Report{Sections: map[string]json.RawMessage{}, Problems: []report.Problem{{Section: section.NodeSideName(), Error: &report.Error{Message: "boom"}}}}
	if _, err := Extract(failed, "ns/p"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("problem: %v", err)
	}
	if _, err := Extract(&report.Report{}, "ns/p"); err == nil || !strings.Contains(err.Error(), "no nodeside section") {
		t.Errorf("missing: %v", err)
	}
}

// A Create that fails after the server made the pod (Ctrl-C during the request): the node
// pod is deleted by the name netdiff chose.
func TestCollectDeletesWhenCreateFailsLate(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if err := cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, pod.Namespace); err != nil {
			t.Fatal(err)
		}
		return true, nil, context.Canceled
	})
	var msgs []string
	_, err := Request{Client: cs, Subject: subject(nil), Spec: spec, NodeNamespace: "priv",
		Progress: func(m string) { msgs = append(msgs, m) }}.Collect(context.Background())
	if err == nil {
		t.Fatal("no error from a failed create")
	}
	l, _ := cs.CoreV1().Pods("priv").List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 0 {
		t.Errorf("node pod left behind after a failed create: %s", l.Items[0].Name)
	}
	if len(msgs) == 0 || !strings.Contains(msgs[len(msgs)-1], "created although the request failed") {
		t.Errorf("progress: %q", msgs)
	}
}
