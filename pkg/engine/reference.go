package engine

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
)

// addReference creates the reference pod for subj and waits until it runs. The returned
// cleanup deletes it (unless --keep-reference) and is safe to call on every path, also
// after an error or Ctrl-C: it uses its own short deadline, not the cancelled context.
func (r *run) addReference(ctx context.Context, subj *subject) (*subject, func(), error) {
	noop := func() {}
	want, err := inject.ReferencePod(subj.pod, r.Prober)
	if err != nil {
		return nil, noop, err
	}
	pods := r.client.CoreV1().Pods(subj.pod.Namespace)
	start := time.Now()
	created, err := pods.Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		if deleted, _ := inject.DeleteAfterFailedCreate(pods, want.Name, err); deleted {
			fmt.Fprintf(r.ErrOut, "deleted reference pod %s/%s (created although the request failed)\n", want.Namespace, want.Name)
		}
		return nil, noop, &podrun.StepError{Pod: want.Namespace + "/" + want.Name, Step: "create reference pod", Err: err}
	}
	id := created.Namespace + "/" + created.Name
	fmt.Fprintf(r.ErrOut, "created reference pod %s on node %s\n", id, created.Spec.NodeName)
	cleanup := func() {
		if r.KeepReference {
			fmt.Fprintf(r.ErrOut, "kept reference pod %s (delete it with: kubectl delete pod -n %s %s)\n", id, created.Namespace, created.Name)
			return
		}
		if _, err := inject.DeletePod(pods, created.Name); err != nil {
			fmt.Fprintf(r.ErrOut, "warning: could not delete reference pod %s: %v (its prober exits by itself after --idle-timeout)\n", id, err)
			return
		}
		fmt.Fprintf(r.ErrOut, "deleted reference pod %s\n", id)
	}
	wctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	if err := inject.WaitRunning(wctx, pods, created.Name, inject.ReferenceContainer, r.Prober.Image); err != nil {
		return nil, cleanup, &podrun.StepError{Pod: id, Step: "wait for reference pod", Err: err}
	}
	running, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
	if err != nil {
		return nil, cleanup, &podrun.StepError{Pod: id, Step: "get reference pod", Err: err}
	}
	// A brand-new pod's IPv6 link-local address is still in duplicate address detection
	// for a second or two; the subject's finished long ago. Let the reference settle so the
	// diff does not report its youth.
	if wait := referenceSettle - sinceStarted(running); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, cleanup, ctx.Err()
		}
	}
	ref := &subject{name: "reference", ref: &PodRef{Namespace: running.Namespace, Name: running.Name}, reference: true, container: inject.ReferenceContainer, pod: running}
	ref.timings.Add("reference-pod", start)
	if ref.name == subj.name {
		ref.name = "netdiff-reference"
	}
	return ref, cleanup, nil
}

// referenceSettle is how long the reference pod runs before it is probed: IPv6 DAD takes
// dad_transmits × retrans_time (1 s by default) after a random delay of up to 1 s.
const referenceSettle = 2500 * time.Millisecond

func sinceStarted(pod *corev1.Pod) time.Duration {
	for _, st := range pod.Status.ContainerStatuses {
		if st.State.Running != nil {
			return time.Since(st.State.Running.StartedAt.Time)
		}
	}
	return 0
}
