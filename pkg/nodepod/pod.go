// Package nodepod runs the prober in a short-lived privileged pod on a pod's node: for
// `kubectl netdiff --node-side` it reads the node side of the pod (its veth, routes,
// netfilter rules), for `--via node` it enters the pod's namespaces from there.
package nodepod

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/cmd/debug"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
)

const (
	// NamePrefix starts every node pod's name.
	NamePrefix = inject.NamePrefix + "node-"
	// Container is the node pod's only container.
	Container = "netdiff"
	// LabelNodeSideFor names the pod a node pod was started for.
	LabelNodeSideFor = "netdiff.dev/node-side-for"
	// IdleTimeout is how long a node pod's prober lives after its last collect when netdiff
	// could not delete it (killed, or lost the API server): privileged pods should not linger.
	IdleTimeout = 2 * time.Minute
)

// hostRootVolume is the volume kubectl's node-debug profiles add to mount the node's root
// filesystem at /host.
const hostRootVolume = "host-root"

// NodePod is the privileged pod that reads the node side of subject, as `kubectl debug
// node/NODE --profile=sysadmin` would make it (kubectl's own profile code: privileged,
// hostNetwork, hostPID, hostIPC), minus the node's root filesystem at /host: the prober
// reads only netlink and /proc, so the node's files stay out of its reach. namespace is
// where it runs ("" means the subject's); its process is the prober's idle loop, so it ends
// by itself if netdiff cannot delete it.
func NodePod(subject *corev1.Pod, namespace string, s inject.Spec) (*corev1.Pod, error) {
	if subject.Spec.NodeName == "" {
		return nil, fmt.Errorf("pod %s/%s is not scheduled on a node yet", subject.Namespace, subject.Name)
	}
	if namespace == "" {
		namespace = subject.Namespace
	}
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      NamePrefix + inject.NameSuffix(),
			Namespace: namespace,
		},
		Spec: corev1.PodSpec{
			NodeName:                      subject.Spec.NodeName,
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  new(bool),
			TerminationGracePeriodSeconds: &zero,
			// Whatever taints the node has, the subject runs there, so must the node pod.
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            Container,
				Image:           s.Image,
				ImagePullPolicy: s.PullPolicy,
				Command:         []string{inject.ProberPath, "idle", "--timeout", IdleTimeout.String(), "--stamp", inject.StampPath},
				Env:             []corev1.EnvVar{{Name: inject.EnvVersion, Value: s.Version}, {Name: inject.EnvProfile, Value: debug.ProfileSysadmin}},
			}},
		},
	}
	applier, err := debug.NewProfileApplier(debug.ProfileSysadmin, debug.KeepFlags{})
	if err != nil {
		return nil, err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: subject.Spec.NodeName}}
	if err := applier.Apply(pod, Container, node); err != nil {
		return nil, fmt.Errorf("apply profile %q: %w", debug.ProfileSysadmin, err)
	}
	dropHostRoot(pod)
	pod.Labels = map[string]string{inject.LabelManagedBy: inject.ManagedBy, LabelNodeSideFor: labelValue(subject.Name)}
	return pod, nil
}

func dropHostRoot(pod *corev1.Pod) {
	var vols []corev1.Volume
	for _, v := range pod.Spec.Volumes {
		if v.Name != hostRootVolume {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
	for i := range pod.Spec.Containers {
		var mounts []corev1.VolumeMount
		for _, m := range pod.Spec.Containers[i].VolumeMounts {
			if m.Name != hostRootVolume {
				mounts = append(mounts, m)
			}
		}
		pod.Spec.Containers[i].VolumeMounts = mounts
	}
}

// labelValue fits a pod name into a label value: at most 63 characters, ending in an
// alphanumeric (a pod name may be 253 long).
func labelValue(name string) string {
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}
