// Package inject builds, adds, finds and waits for the netdiff ephemeral container that
// runs the prober inside a pod. The spec builders are pure functions; the client calls
// live in add.go.
package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/kubectl/pkg/cmd/debug"
)

const (
	// NamePrefix starts every container netdiff adds, so they are easy to spot and reuse.
	NamePrefix = "netdiff-"
	// ProberPath is where the prober image keeps the binary.
	ProberPath = "/netdiff-prober"
	// StampPath is touched by each collect so the idle main process knows it is in use.
	StampPath = "/tmp/netdiff-last-use"
	// EnvVersion and EnvProfile record what a container was made with, for reuse.
	EnvVersion = "NETDIFF_PROBER_VERSION"
	EnvProfile = "NETDIFF_PROFILE"
)

// Profiles are the security profiles netdiff accepts, as in kubectl debug --profile, and
// netdiff's own ProfileBPF.
var Profiles = []string{debug.ProfileRestricted, debug.ProfileBaseline, debug.ProfileGeneral, debug.ProfileNetadmin, ProfileBPF}

// ProfileBPF is kubectl's netadmin profile plus what the drop watch (the drops section)
// needs: CAP_BPF and CAP_PERFMON to load a tracing program on skb:kfree_skb, CAP_SYSLOG
// to name its code locations from /proc/kallsyms. Like netadmin it passes only the
// privileged Pod Security level.
const ProfileBPF = "bpf"

// bpfCapabilities are what ProfileBPF adds to netadmin's.
var bpfCapabilities = []corev1.Capability{"BPF", "PERFMON", "SYSLOG"}

// DefaultProfile passes Pod Security Admission "baseline": no added capabilities.
const DefaultProfile = debug.ProfileBaseline

// Spec is what the ephemeral container should be.
type Spec struct {
	Image           string
	PullPolicy      corev1.PullPolicy
	Profile         string
	TargetContainer string
	Version         string
	// IdleTimeout is how long the container outlives its last collect before exiting.
	IdleTimeout time.Duration
}

// NameSuffix makes the random part of the names of pods netdiff creates; tests replace it.
var NameSuffix = func() string { return utilrand.String(5) }

// ValidateProfile rejects profiles netdiff does not offer.
func ValidateProfile(p string) error {
	for _, ok := range Profiles {
		if p == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown --profile %q: use one of %s", p, strings.Join(Profiles, ", "))
}

// ContainerName is the name of the container s adds to pod. It is the same for every run
// that would add the same container (a hash of the spec) to the same pod, so runs started
// at once send the same patch and the API server merges the second into the first by
// name: one container, not one per run (they can never be removed). The number after
// the hash counts on past the containers of that spec the pod already has, which exited
// and cannot be started again.
func ContainerName(pod *corev1.Pod, s Spec) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{s.Image, string(s.PullPolicy), s.TargetContainer,
		s.Version, s.Profile, s.IdleTimeout.String()}, "\x00")))
	base := NamePrefix + hex.EncodeToString(sum[:])[:6]
	used := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		used[c.Name] = true
	}
	for _, c := range pod.Spec.InitContainers {
		used[c.Name] = true
	}
	for _, c := range pod.Spec.EphemeralContainers {
		used[c.Name] = true
	}
	for n := 1; ; n++ {
		if name := fmt.Sprintf("%s-%d", base, n); !used[name] {
			return name
		}
	}
}

// Generate returns a copy of pod with a new netdiff ephemeral container appended, and that
// container. The profile's security context is applied by kubectl's own profile code, so
// netdiff's profiles mean exactly what `kubectl debug --profile` means.
func Generate(pod *corev1.Pod, s Spec) (*corev1.Pod, *corev1.EphemeralContainer, error) {
	if err := ValidateProfile(s.Profile); err != nil {
		return nil, nil, err
	}
	name := ContainerName(pod, s)
	ec := corev1.EphemeralContainer{
		TargetContainerName: s.TargetContainer,
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name:            name,
			Image:           s.Image,
			ImagePullPolicy: s.PullPolicy,
			Command: []string{ProberPath, "idle",
				"--timeout", s.IdleTimeout.String(), "--stamp", StampPath},
			Env: []corev1.EnvVar{
				{Name: EnvVersion, Value: s.Version},
				{Name: EnvProfile, Value: s.Profile},
			},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
	}
	copied := pod.DeepCopy()
	copied.Spec.EphemeralContainers = append(copied.Spec.EphemeralContainers, ec)
	kubectlProfile := s.Profile
	if kubectlProfile == ProfileBPF {
		kubectlProfile = debug.ProfileNetadmin
	}
	applier, err := debug.NewProfileApplier(kubectlProfile, debug.KeepFlags{})
	if err != nil {
		return nil, nil, err
	}
	// The same pod object as target means "ephemeral container" style to kubectl's profiles.
	if err := applier.Apply(copied, name, copied); err != nil {
		return nil, nil, fmt.Errorf("apply profile %q: %w", s.Profile, err)
	}
	added := &copied.Spec.EphemeralContainers[len(copied.Spec.EphemeralContainers)-1]
	nameNonRootUser(added.SecurityContext, s.Profile)
	if s.Profile == ProfileBPF {
		if added.SecurityContext == nil {
			added.SecurityContext = &corev1.SecurityContext{}
		}
		if added.SecurityContext.Capabilities == nil {
			added.SecurityContext.Capabilities = &corev1.Capabilities{}
		}
		added.SecurityContext.Capabilities.Add = append(added.SecurityContext.Capabilities.Add, bpfCapabilities...)
	}
	out := *added
	return copied, &out, nil
}

// nonRootUID is the user the prober runs as under the restricted profile.
const nonRootUID = int64(65532)

// nameNonRootUser: restricted demands runAsNonRoot, but the image runs as root, so the
// kubelet refuses to start it unless a user is named explicitly.
func nameNonRootUser(sc *corev1.SecurityContext, profile string) {
	if profile == debug.ProfileRestricted && sc != nil && sc.RunAsUser == nil {
		uid := nonRootUID
		sc.RunAsUser = &uid
	}
}

// FindReusable returns the name of a running netdiff container in pod that was made with
// the same image, version, profile and target, or "" if there is none.
func FindReusable(pod *corev1.Pod, s Spec) string {
	running := map[string]bool{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		if st.State.Running != nil {
			running[st.Name] = true
		}
	}
	for i := len(pod.Spec.EphemeralContainers) - 1; i >= 0; i-- {
		ec := pod.Spec.EphemeralContainers[i]
		if running[ec.Name] && matches(ec, s) {
			return ec.Name
		}
	}
	return ""
}

// FindStarting returns the name of a netdiff container in pod, made with the same spec,
// that the kubelet has not reported running yet but may still start: no status, or
// waiting for a reason other than a fatal one. An exec often works before the status says
// Running, so a run that follows another at once sees the container it added as not yet
// running; waiting for it instead of adding another keeps one container per pod.
func FindStarting(pod *corev1.Pod, s Spec) string {
	state := map[string]corev1.ContainerState{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		state[st.Name] = st.State
	}
	for i := len(pod.Spec.EphemeralContainers) - 1; i >= 0; i-- {
		ec := pod.Spec.EphemeralContainers[i]
		if !matches(ec, s) {
			continue
		}
		st, ok := state[ec.Name]
		if !ok || st.Waiting != nil && !fatalWaiting[st.Waiting.Reason] {
			return ec.Name
		}
	}
	return ""
}

func matches(ec corev1.EphemeralContainer, s Spec) bool {
	return strings.HasPrefix(ec.Name, NamePrefix) && ec.Image == s.Image && ec.TargetContainerName == s.TargetContainer &&
		envValue(ec.Env, EnvVersion) == s.Version && envValue(ec.Env, EnvProfile) == s.Profile
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TargetContainer picks the app container: the explicit one, else the
// kubectl.kubernetes.io/default-container annotation, else the first container.
func TargetContainer(pod *corev1.Pod, explicit string) (string, error) {
	name := explicit
	if name == "" {
		name = pod.Annotations["kubectl.kubernetes.io/default-container"]
	}
	if name == "" {
		if len(pod.Spec.Containers) == 0 {
			return "", fmt.Errorf("pod %s/%s has no containers", pod.Namespace, pod.Name)
		}
		return pod.Spec.Containers[0].Name, nil
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return name, nil
		}
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("pod %s/%s has no container %q: choose one of %s with -c", pod.Namespace, pod.Name, name, strings.Join(names, ", "))
}
