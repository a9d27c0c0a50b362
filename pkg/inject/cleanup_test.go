package inject

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A Create cut off by Ctrl-C lands on the server after the first Delete found nothing:
// the pod is still deleted. A Create the server refused is not waited for.
func TestDeleteAfterFailedCreate(t *testing.T) {
	cs := fake.NewClientset()
	deletes := 0
	cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		deletes++
		if deletes == 1 { // nothing yet: the Create lands just after this Delete
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "netdiff-node-x", Namespace: "ns"}}
			if err := cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, "ns"); err != nil {
				t.Fatal(err)
			}
			return true, nil, apierrors.NewNotFound(corev1.Resource("pods"), "netdiff-node-x")
		}
		return false, nil, nil
	})
	pods := cs.CoreV1().Pods("ns")
	deleted, err := DeleteAfterFailedCreate(pods, "netdiff-node-x", context.Canceled)
	if !deleted || err != nil || deletes < 2 {
		t.Errorf("deleted %v, err %v after %d deletes: want the late pod deleted", deleted, err, deletes)
	}
	if _, err := pods.Get(context.Background(), "netdiff-node-x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the late pod is still there: %v", err)
	}

	deletes = 10
	refused := apierrors.NewForbidden(corev1.Resource("pods"), "netdiff-node-y", nil)
	if deleted, _ := DeleteAfterFailedCreate(pods, "netdiff-node-y", refused); deleted || deletes != 11 {
		t.Errorf("a refused Create: deleted %v after %d deletes, want one delete and nothing deleted", deleted, deletes-10)
	}
}
