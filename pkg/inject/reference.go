package inject

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/cmd/debug"
)

const (
	// LabelManagedBy marks pods netdiff created, so they are easy to find and clean up.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the label's value.
	ManagedBy = "kubectl-netdiff"
	// LabelReferenceFor names the pod a reference pod was made for.
	LabelReferenceFor = "netdiff.dev/reference-for"
	// ReferenceContainer is the reference pod's only container, running the prober.
	ReferenceContainer = "netdiff"
)

// ReferencePod is a minimal clean pod to compare subject against: the prober image in the
// same namespace, on the same node, with the same hostNetwork, dnsPolicy and dnsConfig, and
// no added capabilities (the profile's security context). Its process is the prober's
// idle loop, so it ends by itself even if netdiff is killed before deleting it.
func ReferencePod(subject *corev1.Pod, s Spec) (*corev1.Pod, error) {
	if err := ValidateProfile(s.Profile); err != nil {
		return nil, err
	}
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			// Named here, not by the server: a Create that fails after the server made
			// the pod (Ctrl-C mid-request) still leaves a name to delete it by.
			Name:      NamePrefix + "ref-" + NameSuffix(),
			Namespace: subject.Namespace,
		},
		Spec: corev1.PodSpec{
			NodeName:                      subject.Spec.NodeName,
			HostNetwork:                   subject.Spec.HostNetwork,
			DNSPolicy:                     subject.Spec.DNSPolicy,
			DNSConfig:                     subject.Spec.DNSConfig.DeepCopy(),
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  new(bool),
			TerminationGracePeriodSeconds: &zero,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            ReferenceContainer,
				Image:           s.Image,
				ImagePullPolicy: s.PullPolicy,
				Command:         []string{ProberPath, "idle", "--timeout", s.IdleTimeout.String(), "--stamp", StampPath},
				Env:             []corev1.EnvVar{{Name: EnvVersion, Value: s.Version}, {Name: EnvProfile, Value: s.Profile}},
			}},
		},
	}
	// kubectl's profiles treat a pod other than the target as a pod copy; that is what a
	// reference pod is, so the security context matches `kubectl debug --copy-to`.
	applier, err := debug.NewProfileApplier(s.Profile, debug.KeepFlags{})
	if err != nil {
		return nil, err
	}
	if err := applier.Apply(pod, ReferenceContainer, subject); err != nil {
		return nil, err
	}
	pod.Spec.ShareProcessNamespace = nil // the reference has one container; no need to share
	// Labels after the profile: kubectl's pod-copy profiles drop the labels they find.
	pod.Labels = map[string]string{LabelManagedBy: ManagedBy, LabelReferenceFor: subject.Name}
	nameNonRootUser(pod.Spec.Containers[0].SecurityContext, s.Profile)
	return pod, nil
}
