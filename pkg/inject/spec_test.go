package inject

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ha-0", Namespace: "apps"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}},
			EphemeralContainers: []corev1.EphemeralContainer{
				{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "netdiff-aaaaa"}},
			},
		},
	}
}

func TestGenerateProfiles(t *testing.T) {
	spec := Spec{Image: "netdiff/netdiff-prober:v1", PullPolicy: corev1.PullIfNotPresent, TargetContainer: "app", Version: "v1", IdleTimeout: 15 * time.Minute}
	tests := []struct {
		profile string
		check   func(t *testing.T, sc *corev1.SecurityContext)
	}{
		{"baseline", func(t *testing.T, sc *corev1.SecurityContext) {
			if sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
				t.Errorf("baseline adds capabilities %v: PSA baseline would reject it", sc.Capabilities.Add)
			}
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				t.Error("baseline is privileged")
			}
		}},
		{"restricted", func(t *testing.T, sc *corev1.SecurityContext) {
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Errorf("restricted must run as a named non-root user: %+v", sc)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("restricted must disallow privilege escalation")
			}
			if sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("restricted must drop ALL capabilities: %+v", sc.Capabilities)
			}
			if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Error("restricted must set seccomp RuntimeDefault")
			}
		}},
		{"netadmin", func(t *testing.T, sc *corev1.SecurityContext) {
			if sc == nil || sc.Capabilities == nil || !hasCap(sc.Capabilities.Add, "NET_ADMIN") {
				t.Errorf("netadmin must add NET_ADMIN: %+v", sc)
			}
		}},
		{"general", func(t *testing.T, sc *corev1.SecurityContext) {
			if sc == nil || sc.Capabilities == nil || !hasCap(sc.Capabilities.Add, "SYS_PTRACE") {
				t.Errorf("general must add SYS_PTRACE (to read the app's /proc entries): %+v", sc)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			s := spec
			s.Profile = tt.profile
			pod := testPod()
			withEC, ec, err := Generate(pod, s)
			if err != nil {
				t.Fatal(err)
			}
			if ec.Name != ContainerName(pod, s) {
				t.Errorf("name = %s, want %s", ec.Name, ContainerName(pod, s))
			}
			if len(pod.Spec.EphemeralContainers) != 1 || len(withEC.Spec.EphemeralContainers) != 2 {
				t.Error("Generate must not modify its input and must append exactly one container")
			}
			if ec.TargetContainerName != "app" || ec.Image != s.Image {
				t.Errorf("target/image = %s/%s", ec.TargetContainerName, ec.Image)
			}
			cmd := strings.Join(ec.Command, " ")
			if cmd != "/netdiff-prober idle --timeout 15m0s --stamp /tmp/netdiff-last-use" {
				t.Errorf("command = %q: the container must exit by itself", cmd)
			}
			tt.check(t, ec.SecurityContext)
		})
	}
	if _, _, err := Generate(testPod(), Spec{Profile: "sysadmin"}); err == nil {
		t.Error("sysadmin is not offered for a pod's own namespace and must be refused")
	}
}

// Runs that add the same container to the same pod pick one name; another spec or a pod
// that already has that name gets another.
func TestContainerNameIsTheSameForTheSameSpec(t *testing.T) {
	spec := Spec{Image: "netdiff/netdiff-prober:v1", PullPolicy: corev1.PullIfNotPresent, TargetContainer: "app", Version: "v1", Profile: "general", IdleTimeout: 15 * time.Minute}
	pod := testPod()
	first := ContainerName(pod, spec)
	if !strings.HasPrefix(first, NamePrefix) || !strings.HasSuffix(first, "-1") || ContainerName(testPod(), spec) != first {
		t.Fatalf("name %q: want %s<hash>-1, the same for the same pod and spec", first, NamePrefix)
	}
	for _, change := range []func(*Spec){
		func(s *Spec) { s.Image += "x" }, func(s *Spec) { s.Version = "v2" }, func(s *Spec) { s.Profile = "netadmin" },
		func(s *Spec) { s.TargetContainer = "sidecar" }, func(s *Spec) { s.IdleTimeout = time.Minute },
		func(s *Spec) { s.PullPolicy = corev1.PullAlways },
	} {
		other := spec
		change(&other)
		if n := ContainerName(pod, other); n == first {
			t.Errorf("spec %+v gets the same name %s as %+v", other, n, spec)
		}
	}
	// The pod has that container already (it exited: a live one is reused instead).
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: first}})
	if next := ContainerName(pod, spec); next != strings.TrimSuffix(first, "-1")+"-2" {
		t.Errorf("next name %s after %s", next, first)
	}
}

func hasCap(caps []corev1.Capability, c string) bool {
	for _, x := range caps {
		if string(x) == c {
			return true
		}
	}
	return false
}

func TestFindReusable(t *testing.T) {
	spec := Spec{Image: "img:v1", TargetContainer: "app", Version: "v1", Profile: "baseline"}
	ec := func(name, image, target, ver, prof string) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{TargetContainerName: target, EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: image, Env: []corev1.EnvVar{{Name: EnvVersion, Value: ver}, {Name: EnvProfile, Value: prof}}}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
	tests := []struct {
		name   string
		ecs    []corev1.EphemeralContainer
		states []corev1.ContainerState
		want   string
	}{
		{"none", nil, nil, ""},
		{"running match", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "app", "v1", "baseline")}, []corev1.ContainerState{running}, "netdiff-a"},
		{"terminated", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "app", "v1", "baseline")}, []corev1.ContainerState{done}, ""},
		{"other version", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "app", "v0", "baseline")}, []corev1.ContainerState{running}, ""},
		{"other profile", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "app", "v1", "netadmin")}, []corev1.ContainerState{running}, ""},
		{"other target", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "side", "v1", "baseline")}, []corev1.ContainerState{running}, ""},
		{"not ours", []corev1.EphemeralContainer{ec("debugger", "img:v1", "app", "v1", "baseline")}, []corev1.ContainerState{running}, ""},
		{"newest wins", []corev1.EphemeralContainer{ec("netdiff-a", "img:v1", "app", "v1", "baseline"), ec("netdiff-b", "img:v1", "app", "v1", "baseline")}, []corev1.ContainerState{running, running}, "netdiff-b"},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{EphemeralContainers: tt.ecs}}
		for i, st := range tt.states {
			pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses, corev1.ContainerStatus{Name: tt.ecs[i].Name, State: st})
		}
		if got := FindReusable(pod, spec); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestContainerState(t *testing.T) {
	status := func(st corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "netdiff-x", State: st}}}}
	}
	waiting := func(r string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r, Message: "m"}}
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		running bool
		errHas  string
	}{
		{"no status yet", &corev1.Pod{}, false, ""},
		{"creating", status(waiting("ContainerCreating")), false, ""},
		{"running", status(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), true, ""},
		{"pull error", status(waiting("ErrImagePull")), false, "--image"},
		{"backoff", status(waiting("ImagePullBackOff")), false, `"img:v9"`},
		{"create error", status(waiting("CreateContainerError")), false, "/netdiff-prober"},
		{"exited", status(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 127}}), false, "exit code 127"},
	}
	for _, tt := range tests {
		running, err := ContainerState(tt.pod, "netdiff-x", "img:v9")
		if running != tt.running || (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("%s: running=%v err=%v, want running=%v err containing %q", tt.name, running, err, tt.running, tt.errHas)
		}
	}
}

func TestTargetContainer(t *testing.T) {
	pod := testPod()
	if c, _ := TargetContainer(pod, ""); c != "app" {
		t.Errorf("default = %s, want the first container", c)
	}
	pod.Annotations = map[string]string{"kubectl.kubernetes.io/default-container": "sidecar"}
	if c, _ := TargetContainer(pod, ""); c != "sidecar" {
		t.Errorf("annotated default = %s, want sidecar", c)
	}
	if c, _ := TargetContainer(pod, "app"); c != "app" {
		t.Errorf("explicit = %s", c)
	}
	if _, err := TargetContainer(pod, "nope"); err == nil || !strings.Contains(err.Error(), "app, sidecar") {
		t.Errorf("unknown container error should list the choices: %v", err)
	}
}

// A run that ends before the kubelet gives up on a pull still names the image, --image
// and what the kubelet last said.
func TestTimeoutErrorNamesImageAndFlags(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "netdiff-x",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}}
	err := TimeoutError("ha-0", "netdiff-x", "img:v9", waitingState(pod, "netdiff-x"))
	for _, want := range []string{`"img:v9"`, "--image", "--timeout", "ContainerCreating", "describe pod ha-0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %s", err, want)
		}
	}
	if waitingState(pod, "other") != "" {
		t.Error("waitingState of an unknown container must be empty")
	}
}

// A run right after another sees the container that run added before its status says
// Running: it must wait for that one, not add a second.
func TestFindStarting(t *testing.T) {
	spec := Spec{Image: "img:v1", TargetContainer: "app", Version: "v1", Profile: "baseline"}
	mk := func(name, image string) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{TargetContainerName: "app", EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: image, Env: []corev1.EnvVar{{Name: EnvVersion, Value: "v1"}, {Name: EnvProfile, Value: "baseline"}}}}
	}
	waiting := func(r string) *corev1.ContainerState {
		return &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r}}
	}
	tests := []struct {
		name  string
		image string
		state *corev1.ContainerState // nil: no status yet
		want  string
	}{
		{"no status yet", "img:v1", nil, "netdiff-a"},
		{"creating", "img:v1", waiting("ContainerCreating"), "netdiff-a"},
		{"pull failed", "img:v1", waiting("ErrImagePull"), ""},
		{"running is FindReusable's", "img:v1", &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, ""},
		{"exited", "img:v1", &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}, ""},
		{"other image", "img:v0", nil, ""},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{EphemeralContainers: []corev1.EphemeralContainer{mk("netdiff-a", tt.image)}}}
		if tt.state != nil {
			pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "netdiff-a", State: *tt.state}}
		}
		if got := FindStarting(pod, spec); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
