package netdiff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netdiff/kubectl-netdiff/pkg/engine"
)

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
		{name: "bad via", args: []string{"a", "b"}, mod: func(o *Options) { o.Via = "ssh" }, errHas: "unknown --via"},
		{name: "via node", args: []string{"a", "b"}, mod: func(o *Options) { o.Via = "node"; o.NodeNamespace = "ops" }},
		{name: "via node with reference", args: []string{"a"}, mod: func(o *Options) { o.Via = "node"; o.Reference = true }, errHas: "unlike views"},
		{name: "node side auto", args: []string{"a", "b"}, mod: func(o *Options) { o.NodeSide = "auto"; o.NodeNamespace = "ops" }},
		{name: "bad node side", args: []string{"a", "b"}, mod: func(o *Options) { o.NodeSide = "sometimes" }, errHas: "--node-side=sometimes: use true, false or auto"},
		{name: "node namespace alone", args: []string{"a", "b"}, mod: func(o *Options) { o.NodeNamespace = "ops" }, errHas: "--node-namespace only"},
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
	if o.pods[0] != (engine.PodRef{Namespace: "apps", Name: "a"}) || o.pods[1] != (engine.PodRef{Namespace: "other", Name: "b"}) {
		t.Errorf("pods = %+v", o.pods)
	}
	if o.Image != DefaultImage() || !strings.HasSuffix(o.Image, ":"+strings.TrimPrefix(DefaultImage(), DefaultImageRepo+":")) {
		t.Errorf("default image = %q", o.Image)
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
