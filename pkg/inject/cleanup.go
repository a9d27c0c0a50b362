package inject

import (
	"context"
	"errors"
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

// createLandsWithin bounds how long a Create cut off by the client may still land on the
// server: its request was sent, and a Delete sent after it can overtake it. A moment:
// the API server handles a Create in milliseconds; an interrupted run waits this long at
// most.
const createLandsWithin = 700 * time.Millisecond

// DeleteAfterFailedCreate deletes the pod a failed Create may have made (Ctrl-C during the
// request), by the name netdiff chose. When the Create never got the server's answer
// (createErr is no API status), a Delete that finds nothing may have overtaken it, so it
// is sent again until the Create cannot land any more (seen in e2e: SIGINT 50 ms into a
// run left a node pod behind). deleted says whether there was one to delete.
func DeleteAfterFailedCreate(pods corev1client.PodInterface, name string, createErr error) (deleted bool, err error) {
	var status apierrors.APIStatus
	answered := errors.As(createErr, &status)
	deadline := time.Now().Add(createLandsWithin)
	for {
		deleted, err = DeletePod(pods, name)
		if deleted || err != nil || answered || time.Now().After(deadline) {
			return deleted, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
