package inject

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// WaitRunning against a fake API server: it ends when the kubelet reports the container
// running, when it reports a pull failure, when the pod goes away, and at ctx's deadline
// with the image, --image and the last Waiting reason.
func TestWaitRunning(t *testing.T) {
	status := func(st corev1.ContainerState) corev1.PodStatus {
		return corev1.PodStatus{EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "netdiff-x", State: st}}}
	}
	tests := []struct {
		name   string
		update func(cs *fake.Clientset, pod *corev1.Pod) error
		errHas string // "" = nil
	}{
		{"running", func(cs *fake.Clientset, pod *corev1.Pod) error {
			pod.Status = status(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
			_, err := cs.CoreV1().Pods("ns").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			return err
		}, ""},
		{"pull failed", func(cs *fake.Clientset, pod *corev1.Pod) error {
			pod.Status = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}})
			_, err := cs.CoreV1().Pods("ns").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			return err
		}, "--image"},
		{"deleted", func(cs *fake.Clientset, pod *corev1.Pod) error {
			return cs.CoreV1().Pods("ns").Delete(context.Background(), pod.Name, metav1.DeleteOptions{})
		}, "deleted"},
		{"timeout", func(cs *fake.Clientset, pod *corev1.Pod) error {
			pod.Status = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}})
			_, err := cs.CoreV1().Pods("ns").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
			return err
		}, "last seen waiting: ContainerCreating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
			cs := fake.NewClientset(pod.DeepCopy())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- WaitRunning(ctx, cs.CoreV1().Pods("ns"), "p", "netdiff-x", "img:v9") }()
			time.Sleep(100 * time.Millisecond) // listed and watching
			if err := tt.update(cs, pod); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if (tt.errHas == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("got %v, want error containing %q", err, tt.errHas)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("WaitRunning did not return")
			}
		})
	}
}
