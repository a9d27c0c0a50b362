package inject

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// ErrUnsupported means the API server has no pods/ephemeralcontainers subresource.
var ErrUnsupported = errors.New("this cluster does not support ephemeral containers (Kubernetes >= 1.25 has them on by default)")

// Add patches the pod's ephemeralcontainers subresource with a new netdiff container and
// returns its name. Like kubectl debug, it sends a strategic merge patch so it never
// overwrites containers another client added meanwhile.
func Add(ctx context.Context, pods corev1client.PodInterface, pod *corev1.Pod, s Spec) (string, error) {
	withEC, ec, err := Generate(pod, s)
	if err != nil {
		return "", err
	}
	oldJS, err := json.Marshal(pod)
	if err != nil {
		return "", err
	}
	newJS, err := json.Marshal(withEC)
	if err != nil {
		return "", err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldJS, newJS, pod)
	if err != nil {
		return "", fmt.Errorf("build patch: %w", err)
	}
	_, err = pods.Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		var serr *apierrors.StatusError
		// A 404 without a name is the subresource missing, not the pod.
		if errors.As(err, &serr) && serr.Status().Reason == metav1.StatusReasonNotFound && (serr.ErrStatus.Details == nil || serr.ErrStatus.Details.Name == "") {
			return "", ErrUnsupported
		}
		// A run started at the same moment added this very container (the name is the
		// spec's): use it rather than fail.
		if apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
			if now, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{}); gerr == nil && hasContainer(now, ec.Name, s) {
				return ec.Name, nil
			}
		}
		return "", err
	}
	return ec.Name, nil
}

func hasContainer(pod *corev1.Pod, name string, s Spec) bool {
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == name && matches(ec, s) {
			return true
		}
	}
	return false
}

// WaitError is a container that will not start by itself; Reason is the kubelet's.
type WaitError struct {
	Container, Image, Reason, Message string
}

func (e *WaitError) Error() string {
	hint := ""
	switch e.Reason {
	case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
		hint = fmt.Sprintf(": the node cannot get image %q; mirror it to a registry the node can reach and pass --image, or fix --image-pull-policy", e.Image)
	case "CreateContainerError", "CreateContainerConfigError", "RunContainerError":
		hint = fmt.Sprintf(": the runtime could not start image %q; check that it is the netdiff prober image (binary at %s) built for the node's architecture", e.Image, ProberPath)
	case "Terminated":
		hint = "; it exited before it could be used (idle timeout, or the image lacks " + ProberPath + ")"
	}
	msg := e.Message
	if msg != "" {
		msg = " (" + msg + ")"
	}
	return fmt.Sprintf("container %s is %s%s%s", e.Container, e.Reason, msg, hint)
}

// fatalWaiting are Waiting reasons that will not resolve without the user's help.
var fatalWaiting = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerError": true, "CreateContainerConfigError": true, "RunContainerError": true,
}

// ContainerState reports whether the named (ephemeral or regular) container runs, or why
// it never will.
// It is the condition of WaitRunning, kept pure for tests.
func ContainerState(pod *corev1.Pod, name, image string) (bool, error) {
	if pod.DeletionTimestamp != nil {
		return false, fmt.Errorf("pod is being deleted")
	}
	statuses := append(pod.Status.EphemeralContainerStatuses[:len(pod.Status.EphemeralContainerStatuses):len(pod.Status.EphemeralContainerStatuses)], pod.Status.ContainerStatuses...)
	for _, st := range statuses {
		if st.Name != name {
			continue
		}
		switch {
		case st.State.Running != nil:
			return true, nil
		case st.State.Terminated != nil:
			t := st.State.Terminated
			return false, &WaitError{Container: name, Image: image, Reason: "Terminated", Message: fmt.Sprintf("exit code %d, %s %s", t.ExitCode, t.Reason, t.Message)}
		case st.State.Waiting != nil && fatalWaiting[st.State.Waiting.Reason]:
			w := st.State.Waiting
			return false, &WaitError{Container: name, Image: image, Reason: w.Reason, Message: w.Message}
		}
	}
	return false, nil
}

// WaitRunning watches the pod until the container runs, fails to start, or ctx ends.
// It lists and watches by hand rather than through a reflector: a reflector whose
// context ends (the exec won first, or Ctrl-C) logs "Failed to watch … context canceled"
// on the user's stderr.
func WaitRunning(ctx context.Context, pods corev1client.PodInterface, podName, name, image string) error {
	last := ""
	check := func(pod *corev1.Pod) (bool, error) {
		if w := waitingState(pod, name); w != "" {
			last = w
		}
		return ContainerState(pod, name, image)
	}
	sel := fields.OneTermEqualSelector("metadata.name", podName).String()
	for {
		list, err := pods.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if ctx.Err() != nil {
			return TimeoutError(podName, name, image, last)
		}
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return fmt.Errorf("pod was deleted")
		}
		if done, err := check(&list.Items[0]); done || err != nil {
			return err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
		if ctx.Err() != nil {
			return TimeoutError(podName, name, image, last)
		}
		if err != nil {
			return err
		}
		done, err := watchUntil(ctx, w, check)
		w.Stop()
		if done || err != nil {
			return err
		}
		if ctx.Err() != nil {
			return TimeoutError(podName, name, image, last)
		}
		// The server closed the watch (timeout, or a too old resource version): list again.
	}
}

// watchUntil feeds the watch's pods to check until it decides, the watch ends (false,
// nil) or ctx ends.
func watchUntil(ctx context.Context, w watch.Interface, check func(*corev1.Pod) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return false, fmt.Errorf("pod was deleted")
			case watch.Error:
				return false, nil
			}
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				if done, err := check(pod); done || err != nil {
					return done, err
				}
			}
		}
	}
}

// waitingState describes the container's Waiting state ("ContainerCreating", or a
// reason with the kubelet's message), or "" when it is not waiting.
func waitingState(pod *corev1.Pod, name string) string {
	for _, st := range pod.Status.EphemeralContainerStatuses {
		if st.Name == name && st.State.Waiting != nil {
			w := st.State.Waiting
			if w.Message != "" {
				return w.Reason + ": " + w.Message
			}
			return w.Reason
		}
	}
	return ""
}

// TimeoutError is a container that did not run before the deadline. A slow or hopeless
// image pull is the usual cause (the kubelet may take longer to give up than --timeout),
// so it names the image and --image as well as --timeout.
func TimeoutError(podName, name, image, lastWaiting string) error {
	state := ""
	if lastWaiting != "" {
		state = " (last seen waiting: " + lastWaiting + ")"
	}
	return fmt.Errorf("container %s with image %q did not start within the timeout%s: if the node cannot pull the image, mirror it to a registry the node can reach and pass --image; otherwise raise --timeout, or check `kubectl describe pod %s`", name, image, state, podName)
}
