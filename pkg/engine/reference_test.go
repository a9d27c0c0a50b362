package engine

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// A Create that fails after the server made the reference pod (Ctrl-C during the
// request) leaves nothing behind: netdiff named the pod and deletes it by that name.
func TestReferenceDeletedWhenCreateFailsLate(t *testing.T) {
	r, cs, _, errOut := newTestRun(t, runningPod("apps", "a", corev1.PodRunning))
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			t.Fatal("reference pod without a name of netdiff's choosing")
		}
		if err := cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, pod.Namespace); err != nil {
			t.Fatal(err)
		}
		return true, nil, context.Canceled
	})
	subj := &subject{name: "a", pod: runningPod("apps", "a", corev1.PodRunning)}
	_, cleanup, err := r.addReference(context.Background(), subj)
	cleanup()
	if err == nil || !strings.Contains(err.Error(), "create reference pod") {
		t.Fatalf("err = %v, want the create step named", err)
	}
	l, _ := cs.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
	for _, p := range l.Items {
		if p.Name != "a" {
			t.Errorf("reference pod %s left behind after a failed create", p.Name)
		}
	}
	if !strings.Contains(errOut.String(), "created although the request failed") {
		t.Errorf("stderr does not say the pod was deleted: %q", errOut.String())
	}
}
