package inject

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// deleteTimeout bounds a cleanup delete.
const deleteTimeout = 15 * time.Second

// DeletePod deletes a pod netdiff created, by the name netdiff chose before creating it,
// at once and with a deadline of its own: the run's context may be why it is leaving
// (Ctrl-C, a timeout), and a Create that returned an error may still have created the
// pod on the server. deleted is false when there was no such pod.
func DeletePod(pods corev1client.PodInterface, name string) (deleted bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	zero := int64(0)
	err = pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
