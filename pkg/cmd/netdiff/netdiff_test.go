package netdiff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
)

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
func newTestOptions(t *testing.T, objs ...runtime.Object) (*Options, *fake.Clientset, *strings.Builder, *strings.Builder) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, namespace: apps, user: u}}]
current-context: c
users: [{name: u, user: {token: t}}]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut := &strings.Builder{}, &strings.Builder{}
	o := NewOptions(genericiooptions.IOStreams{Out: out, ErrOut: errOut})
	o.ConfigFlags.KubeConfig = &kubeconfig
	cs := fake.NewClientset(objs...)
	o.client = cs
	o.isTerminal = func(any) bool { return false }
	return o, cs, out, errOut
}

func runningPod(ns, name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status:     corev1.PodStatus{Phase: phase, PodIPs: []corev1.PodIP{{IP: "10.244.0." + map[string]string{"a": "5", "b": "6"}[name]}}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		mod    func(o *Options)
		errHas string
	}{
		{name: "two pods", args: []string{"a", "b"}},
		{name: "one pod", args: []string{"a"}, errHas: "need at least two subjects"},
		{name: "three pods", args: []string{"a", "b", "c"}},
		{name: "selector", mod: func(o *Options) { o.Selector = "app=web" }},
		{name: "workload", args: []string{"deploy/web"}},
		{name: "reference", args: []string{"a"}, mod: func(o *Options) { o.Reference = true }},
		{name: "reference with two", args: []string{"a", "b"}, mod: func(o *Options) { o.Reference = true }, errHas: "exactly one pod"},
		{name: "keep without reference", args: []string{"a", "b"}, mod: func(o *Options) { o.KeepReference = true }, errHas: "--keep-reference"},
		{name: "container-a with three", args: []string{"a", "b", "c"}, mod: func(o *Options) { o.ContainerA = "x" }, errHas: "exactly two"},
		{name: "concurrency", args: []string{"a", "b"}, mod: func(o *Options) { o.MaxConcurrency = 0 }, errHas: "--max-concurrency"},
		{name: "file and pod", args: []string{"a"}, mod: func(o *Options) { o.Files = []string{"x.json"} }},
		{name: "two files", mod: func(o *Options) { o.Files = []string{"x.json", "y.json"} }},
		{name: "same pod twice", args: []string{"a", "apps/a"}, errHas: "both subjects are pod apps/a"},
		{name: "bad output", args: []string{"a", "b"}, mod: func(o *Options) { o.Output = "xml" }, errHas: "unknown output format"},
		{name: "bad profile", args: []string{"a", "b"}, mod: func(o *Options) { o.Profile = "sysadmin" }, errHas: "unknown --profile"},
		{name: "bad pull policy", args: []string{"a", "b"}, mod: func(o *Options) { o.ImagePullPolicy = "Sometimes" }, errHas: "--image-pull-policy"},
		{name: "bad target", args: []string{"a", "b"}, mod: func(o *Options) { o.Targets = []string{"nope"} }, errHas: "invalid target"},
		{name: "timeouts", args: []string{"a", "b"}, mod: func(o *Options) { o.Timeout = o.Window }, errHas: "--timeout"},
		{name: "dry-run offline", mod: func(o *Options) { o.Files = []string{"x", "y"}; o.DryRun = true }, errHas: "--dry-run needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, _, _ := newTestOptions(t)
			if tt.mod != nil {
				tt.mod(o)
			}
			err := o.Complete(tt.args)
			if err == nil {
				err = o.Validate()
			}
			if (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("err = %v, want %q", err, tt.errHas)
			}
		})
	}
}

func TestCompleteUsesKubeconfigNamespace(t *testing.T) {
	o, _, _, _ := newTestOptions(t)
	if err := o.Complete([]string{"a", "other/b"}); err != nil {
		t.Fatal(err)
	}
	if o.pods[0] != (PodRef{"apps", "a"}) || o.pods[1] != (PodRef{"other", "b"}) {
		t.Errorf("pods = %+v", o.pods)
	}
	if o.Image != DefaultImage() || !strings.HasSuffix(o.Image, ":"+strings.TrimPrefix(DefaultImage(), DefaultImageRepo+":")) {
		t.Errorf("default image = %q", o.Image)
	}
	names := o.subjects()
	if names[0].name != "a" || names[1].name != "other/b" {
		t.Errorf("subject names = %q, %q: a pod outside the default namespace shows its namespace", names[0].name, names[1].name)
	}
}

func run(t *testing.T, o *Options, args ...string) error {
	t.Helper()
	err := o.Complete(args)
	if err == nil {
		err = o.Validate()
	}
	if err == nil {
		err = o.Run(context.Background())
	}
	return err
}

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
			o, cs, _, _ := newTestOptions(t, tt.objs...)
			err := run(t, o, "a", "b")
			if err == nil || !strings.Contains(Explain(err, o.Profile), tt.errHas) {
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

func TestDryRunPrintsSpecAndChangesNothing(t *testing.T) {
	o, cs, out, _ := newTestOptions(t, runningPod("apps", "a", corev1.PodRunning), runningPod("apps", "b", corev1.PodRunning))
	o.DryRun = true
	if err := run(t, o, "a", "b"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"# pod apps/a: would add", "# pod apps/b: would add", "name: netdiff-", "targetContainerName: app", "image: " + DefaultImage(), "- idle"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, got)
		}
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("dry-run made a %s call", a.GetVerb())
		}
	}
}

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
	o, _, _, _ := newTestOptions(t)
	o.Targets = []string{"10.0.0.1:80"}
	a := &subject{pod: runningPod("apps", "a", corev1.PodRunning)}
	b := &subject{pod: runningPod("apps", "b", corev1.PodRunning)}
	got := strings.Join(o.collectArgs(a, []*subject{a, b}, []string{"tcp://10.96.0.1:443", "tcp://10.0.0.1:80"}), " ")
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

	o, _, _, _ := newTestOptions(t, objs...)
	if err := o.Complete([]string{"deploy/web"}); err != nil {
		t.Fatal(err)
	}
	if err := o.expand(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(o.pods) != 2 || o.pods[0].Name != "web-1" || o.pods[1].Name != "web-2" {
		t.Errorf("deploy/web expanded to %v, want web-1, web-2 (not the finished pod, not db)", o.pods)
	}

	o, _, _, _ = newTestOptions(t, objs...)
	o.Selector = "app=db"
	if err := o.Complete(nil); err != nil {
		t.Fatal(err)
	}
	if err := o.expand(context.Background()); err == nil || !strings.Contains(err.Error(), "has 1 pod(s)") {
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
