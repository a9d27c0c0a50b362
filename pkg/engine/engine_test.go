package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	podsection "github.com/netdiff/kubectl-netdiff/plugins/pod"
	"github.com/netdiff/kubectl-netdiff/plugins/services"
)

// newTestRun returns a run with the command's defaults, wired to a fake clientset, so
// nothing leaves the process; start runs it through Run, as any caller would.
func newTestRun(t *testing.T, objs ...runtime.Object) (*run, *fake.Clientset, *strings.Builder, *strings.Builder) {
	t.Helper()
	out, errOut := &strings.Builder{}, &strings.Builder{}
	cs := fake.NewClientset(objs...)
	cfg := Config{
		Namespace: "apps",
		Prober: inject.Spec{Image: "netdiff/netdiff-prober:test", PullPolicy: corev1.PullIfNotPresent,
			Profile: inject.DefaultProfile, Version: "test", IdleTimeout: 15 * time.Minute},
		Window: 4 * time.Second, Timeout: 90 * time.Second, Attempts: 5, Burst: 10, Spread: time.Second,
		MaxReportSize: 64 << 20, MaxConcurrency: 10, Output: "table",
		Out: out, ErrOut: errOut,
	}
	return &run{Config: cfg, client: cs, progressMu: &sync.Mutex{}}, cs, out, errOut
}

func start(r *run) error {
	r.Config.Pods = r.pods
	return Run(context.Background(), &Cluster{Client: r.client}, r.Config)
}

func runningPod(ns, name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status:     corev1.PodStatus{Phase: phase, PodIPs: []corev1.PodIP{{IP: "10.244.0." + map[string]string{"a": "5", "b": "6"}[name]}}},
	}
}

// A run of pods without a cluster to reach them is refused, not a nil dereference.
func TestRunWithoutClusterRefusesPods(t *testing.T) {
	err := Run(context.Background(), nil, Config{Pods: []PodRef{{"apps", "a"}, {"apps", "b"}}})
	if err == nil || !strings.Contains(err.Error(), "no cluster") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

// Run drives pods from a Config alone (no flags, no cobra): a pod that is not running is
// refused with its step, and no pod is changed.
func TestRunRefusesPodsItCannotProbe(t *testing.T) {
	tests := []struct {
		name   string
		objs   []runtime.Object
		errHas string
	}{
		{"not found", []runtime.Object{runningPod("apps", "a", corev1.PodRunning)}, "pod apps/b not found"},
		{"pending", []runtime.Object{runningPod("apps", "a", corev1.PodRunning), runningPod("apps", "b", corev1.PodPending)}, "pod is Pending, not Running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, cs, _, _ := newTestRun(t, tt.objs...)
			r.pods = []PodRef{{"apps", "a"}, {"apps", "b"}}
			err := start(r)
			if err == nil || !strings.Contains(Explain(err, r.Prober.Profile), tt.errHas) {
				t.Fatalf("err = %v, want %q", err, tt.errHas)
			}
			for _, a := range cs.Actions() {
				if a.GetVerb() == "patch" {
					t.Errorf("a pod was patched although a subject was refused: %v", a)
				}
			}
		})
	}
}

func TestParsePodRef(t *testing.T) {
	tests := []struct {
		in      string
		want    PodRef
		wantErr bool
	}{
		{in: "ha-0", want: PodRef{Name: "ha-0"}},
		{in: "pod/ha-0", want: PodRef{Name: "ha-0"}},
		{in: "pods/ha-0", want: PodRef{Name: "ha-0"}},
		{in: "po/ha-0", want: PodRef{Name: "ha-0"}},
		{in: "apps/ha-0", want: PodRef{Namespace: "apps", Name: "ha-0"}},
		{in: "", wantErr: true},
		{in: "a/b/c", wantErr: true},
		{in: "apps/", wantErr: true},
		{in: "/ha-0", wantErr: true},
		{in: "Ha-0", wantErr: true},
		{in: "ha-0:app", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePodRef(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParsePodRef(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// newTestOptions returns Options wired to a fake clientset and a kubeconfig that points
// nowhere, so nothing leaves the process.
func TestPeerTargets(t *testing.T) {
	p := runningPod("apps", "a", corev1.PodRunning)
	p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::5"})
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 53, Protocol: corev1.ProtocolUDP})
	got := strings.Join(PeerTargets(p, true), " ")
	if icmp := strings.Join(PeerTargets(p, false), " "); icmp != "icmp://10.244.0.5 icmp://fd00::5" {
		t.Errorf("PeerTargets without ports = %q", icmp)
	}
	want := "icmp://10.244.0.5 tcp://10.244.0.5:8080 udp://10.244.0.5:53 icmp://fd00::5 tcp://[fd00::5]:8080 udp://[fd00::5]:53"
	if got != want {
		t.Errorf("PeerTargets = %q\nwant %q", got, want)
	}
}

func TestCollectArgsProbePeersGently(t *testing.T) {
	r, _, _, _ := newTestRun(t)
	r.Targets = []string{"10.0.0.1:80"}
	a := &subject{pod: runningPod("apps", "a", corev1.PodRunning)}
	b := &subject{pod: runningPod("apps", "b", corev1.PodRunning)}
	got := strings.Join(r.collectArgs(a, []*subject{a, b}, []string{"tcp://10.96.0.1:443", "tcp://10.0.0.1:80"}), " ")
	want := "--defaults --timeout 4s --attempts 5 --spread 1s --burst 10 --target tcp://10.0.0.1:80 --target tcp://10.96.0.1:443 --gentle-target icmp://10.244.0.6 --gentle-target tcp://10.244.0.6:8080"
	if got != want {
		t.Errorf("collect args for a:\n got %s\nwant %s", got, want)
	}
}

func TestParseWorkloadRef(t *testing.T) {
	for in, want := range map[string]WorkloadRef{
		"deploy/web": {"deployment", "web"}, "deployments/web": {"deployment", "web"},
		"sts/db": {"statefulset", "db"}, "ds/agent": {"daemonset", "agent"}, "rs/web-1": {"replicaset", "web-1"},
	} {
		if got, ok := ParseWorkloadRef(in); !ok || got != want {
			t.Errorf("ParseWorkloadRef(%q) = %+v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"web", "apps/web", "pod/web", "deploy/", "deploy/a/b"} {
		if _, ok := ParseWorkloadRef(in); ok {
			t.Errorf("ParseWorkloadRef(%q) accepted", in)
		}
	}
}

func TestUniqueNames(t *testing.T) {
	s := func(ns, name string) *subject { return &subject{name: name, ref: &PodRef{ns, name}} }
	subjects := []*subject{s("a", "web"), s("b", "web"), s("a", "db"), {name: "web"}, {name: "web"}}
	uniqueNames(subjects)
	var got []string
	for _, x := range subjects {
		got = append(got, x.name)
	}
	if strings.Join(got, ",") != "a/web,b/web,db,web (a),web (b)" {
		t.Errorf("names = %v", got)
	}
}

func TestExpandSelectorAndWorkload(t *testing.T) {
	pod := func(name, app string, phase corev1.PodPhase) *corev1.Pod {
		p := runningPod("apps", name, phase)
		p.Labels = map[string]string{"app": app}
		return p
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	objs := []runtime.Object{dep, pod("web-2", "web", corev1.PodRunning), pod("web-1", "web", corev1.PodRunning),
		pod("web-old", "web", corev1.PodSucceeded), pod("db-0", "db", corev1.PodRunning)}

	r, _, _, _ := newTestRun(t, objs...)
	r.Workloads = []WorkloadRef{{Kind: "deployment", Name: "web"}}
	if err := r.expand(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.pods) != 2 || r.pods[0].Name != "web-1" || r.pods[1].Name != "web-2" {
		t.Errorf("deploy/web expanded to %v, want web-1, web-2 (not the finished pod, not db)", r.pods)
	}

	r, _, _, _ = newTestRun(t, objs...)
	r.Selector = "app=db"
	if err := r.expand(context.Background()); err == nil || !strings.Contains(err.Error(), "has 1 pod(s)") {
		t.Errorf("a selector matching one pod must say so, got %v", err)
	}
}

func TestLinePrefixerWritesWholeLines(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	l := &linePrefixer{prefix: "apps/a: ", w: &out, mu: &mu}
	l.Write([]byte("netdiff-prober: routes: do"))
	l.Write([]byte("ne\nnetdiff-prober: dns: done\npartial"))
	if got := out.String(); got != "apps/a: netdiff-prober: routes: done\napps/a: netdiff-prober: dns: done\n" {
		t.Errorf("got %q", got)
	}
}

// A pod outside the run's namespace shows its namespace in its name.
func TestSubjectNamesShowOtherNamespaces(t *testing.T) {
	r, _, _, _ := newTestRun(t)
	r.pods = []PodRef{{"apps", "a"}, {"other", "b"}}
	names := r.subjects()
	if names[0].name != "a" || names[1].name != "other/b" {
		t.Errorf("subject names = %q, %q", names[0].name, names[1].name)
	}
}

// The pods of one namespace share one list of its NetworkPolicies, Services and
// EndpointSlices; another namespace gets its own. A pod whose probes reached a Service's
// ClusterIP gets a services section naming it and its ready endpoints.
func TestNamespaceListsOncePerNamespace(t *testing.T) {
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50", ClusterIPs: []string{"10.96.0.50"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	ready := true
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-x",
		Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http")}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
	r, cs, _, _ := newTestRun(t, web, slice)
	ctx := context.Background()
	var last *report.Report
	for _, ns := range []string{"apps", "apps", "apps", "other", "apps"} {
		rep := &report.Report{Sections: map[string]json.RawMessage{
			"connect": json.RawMessage(`{"targets":[{"target":"tcp://web:80","scheme":"tcp","port":80,"addresses":[{"address":"10.96.0.50","key":"ipv4"}]}]}`)}}
		s := &subject{pod: runningPod(ns, "a", corev1.PodRunning), report: rep}
		r.attachAPISections(ctx, s)
		if ns == "apps" {
			last = rep
		}
	}
	lists := map[string]int{}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "list" {
			lists[a.GetResource().Resource+"/"+a.GetNamespace()]++
		}
	}
	for _, k := range []string{"networkpolicies/apps", "networkpolicies/other", "services/apps", "services/other", "endpointslices/apps"} {
		if lists[k] != 1 {
			t.Errorf("lists = %v, want one %s", lists, k)
		}
	}
	var svc services.Section
	if ok, err := last.Section(services.SectionName, &svc); !ok || err != nil || len(svc.Targets) != 1 ||
		svc.Targets[0].Service != "apps/web" || svc.Targets[0].Ready != 1 || svc.Targets[0].Key() != "tcp://web:80/ipv4" {
		t.Errorf("services section = %+v (present %v, %v)", svc, ok, err)
	}
}

func ptr[T any](v T) *T { return &v }

// --via node leaves the pods alone: the dry run shows the node pod it would create, and
// a pod whose container has not started is refused by name.
func TestViaNode(t *testing.T) {
	a, b := runningPod("apps", "a", corev1.PodRunning), runningPod("apps", "b", corev1.PodRunning)
	for _, p := range []*corev1.Pod{a, b} {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + strings.Repeat("ab", 32)}}
	}
	r, cs, out, _ := newTestRun(t, a, b)
	r.pods, r.Via, r.DryRun = []PodRef{{"apps", "a"}, {"apps", "b"}}, ViaNode, true
	if err := start(r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# pod apps/a: would create this node pod", "enter container app", "hostPID: true", "privileged: true", "nodeName: n1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "ephemeral") {
		t.Errorf("dry run mentions an ephemeral container:\n%s", out)
	}
	for _, act := range cs.Actions() {
		if act.GetVerb() != "get" {
			t.Errorf("dry run made a %s call", act.GetVerb())
		}
	}

	b.Status.ContainerStatuses = nil
	r, cs, _, errOut := newTestRun(t, a, b)
	r.pods, r.Via, r.Timeout = []PodRef{{"apps", "a"}, {"apps", "b"}}, ViaNode, time.Second // a's node pod never runs here
	if err := start(r); exit.Code(err, ExitError) != ExitError || !strings.Contains(errOut.String(), "pod apps/b: find container: container app has no container ID") {
		t.Fatalf("err = %v, stderr %q: want b's missing container ID named", err, errOut)
	}
	for _, act := range cs.Actions() {
		if act.GetVerb() == "patch" {
			t.Errorf("--via node patched a pod: %v", act)
		}
	}
	left, _ := cs.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
	for _, p := range left.Items {
		if p.Name != "a" && p.Name != "b" {
			t.Errorf("node pod %s left behind", p.Name)
		}
	}
}

// Each run sets the grace it needs after a signal: short with nothing to clean up in the
// cluster, long when pods may need deleting, whatever an earlier run in the process set.
func TestInterruptGraceIsTheRunsOwn(t *testing.T) {
	r, _, _, _ := newTestRun(t)
	r.Files = []string{"../report/testdata/v1-web-a.json", "../report/testdata/v1-web-a.json"}
	_ = start(r)
	if InterruptGrace() != offlineGrace {
		t.Errorf("after an offline run: grace %s, want %s", InterruptGrace(), offlineGrace)
	}
	r, _, _, _ = newTestRun(t, runningPod("apps", "a", corev1.PodPending), runningPod("apps", "b", corev1.PodPending))
	r.pods = []PodRef{{"apps", "a"}, {"apps", "b"}}
	_ = start(r)
	if InterruptGrace() != liveGrace {
		t.Errorf("after a live run: grace %s, want %s", InterruptGrace(), liveGrace)
	}
}

// A pod on a Windows node is refused before anything is added to it; the node is read
// once for all its pods, and not at all for a pod where a netdiff container has started
// (the reused pair: that node runs Linux).
func TestResolveReadsEachNodeOnceAndSkipsItWhenAProberRan(t *testing.T) {
	win := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelOSStable: "windows"}}}
	r, cs, _, _ := newTestRun(t, win, runningPod("apps", "a", corev1.PodRunning), runningPod("apps", "b", corev1.PodRunning))
	r.pods = []PodRef{{"apps", "a"}, {"apps", "b"}}
	err := start(r)
	if err == nil || !strings.Contains(Explain(err, r.Prober.Profile), "Windows node n1") {
		t.Fatalf("err = %v, want the Windows node named", err)
	}
	nodeGets := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("a pod on a Windows node was patched: %v", a)
		}
		if a.GetResource().Resource == "nodes" {
			nodeGets++
		}
	}
	if nodeGets != 1 {
		t.Errorf("%d node reads for two pods on one node, want 1", nodeGets)
	}

	ran := runningPod("apps", "a", corev1.PodRunning)
	ran.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: inject.NamePrefix + "abc123-1",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	r, cs, _, _ = newTestRun(t, win, ran)
	if _, err := r.resolve(context.Background(), PodRef{"apps", "a"}); err != nil {
		t.Fatalf("resolve a pod where the prober ran: %v", err)
	}
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "nodes" {
			t.Errorf("node read although a netdiff container ran in the pod: %v", a)
		}
	}
}

// Policy facts read each namespace once per run, whatever the number of pods, and a
// refused read leaves the verdicts unknown instead of failing the pod.
func TestPolicyFactsListOncePerNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"team": "a"}}}
	r, cs, _, _ := newTestRun(t, ns)
	ctx := context.Background()
	a, b := runningPod("apps", "a", corev1.PodRunning), runningPod("apps", "b", corev1.PodRunning)
	r.subjectPods = []*corev1.Pod{a, b}
	for _, p := range []*corev1.Pod{a, b, a} {
		rep := &report.Report{Sections: map[string]json.RawMessage{
			"connect": json.RawMessage(`{"targets":[{"target":"tcp://198.51.100.9:80","scheme":"tcp","port":80,"addresses":[{"address":"198.51.100.9","key":"ipv4"}]},
			{"target":"tcp://10.244.0.6:8080","scheme":"tcp","port":8080,"addresses":[{"address":"10.244.0.6","key":"ipv4"}]}]}`)}}
		r.attachAPISections(ctx, &subject{pod: p, report: rep})
		var sec podsection.Section
		if ok, err := rep.Section(podsection.SectionName, &sec); !ok || err != nil || sec.NamespaceLabels["team"] != "a" || len(sec.Destinations) == 0 {
			t.Fatalf("pod section: %v %v %+v", ok, err, sec)
		}
	}
	calls := map[string]int{}
	for _, act := range cs.Actions() {
		calls[act.GetVerb()+" "+act.GetResource().Resource+"/"+act.GetNamespace()]++
	}
	for k, n := range calls {
		if n > 1 {
			t.Errorf("%s made %d times in one run: %v", k, n, calls)
		}
	}
	if calls["get namespaces/"] != 1 || calls["list pods/"] != 1 {
		t.Errorf("calls = %v: want the namespace read once and the one unknown address looked up once", calls)
	}
}
