package podrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
)

// The kubelet's answer for a pod it has not admitted, as the API server relays it.
const podDoesNotExist = "Internal error occurred: unable to upgrade connection: pod does not exist"

const minimalReport = `{"schemaVersion":"netdiff.report/v1","sections":{}}`

// reusablePod is a pod on node-1 whose status reports a netdiff container running: what
// etcd still holds after the node restarted.
func reusablePod(t *testing.T, spec inject.Spec) (*corev1.Pod, string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "web-a"},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	withEC, ec, err := inject.Generate(pod, spec)
	if err != nil {
		t.Fatal(err)
	}
	withEC.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: ec.Name, Image: ec.Image,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	return withEC, ec.Name
}

func testSpec() inject.Spec {
	return inject.Spec{Image: "netdiff/netdiff-prober:test", Profile: inject.DefaultProfile, Version: "test",
		IdleTimeout: time.Minute, TargetContainer: "app"}
}

// scriptedExec answers each exec with the next scripted error, or with a report once the
// script is done; it records the container of every call.
type scriptedExec struct {
	mu     sync.Mutex
	script []func(container string) error
	calls  []string
}

func (s *scriptedExec) exec(ctx context.Context, pod *corev1.Pod, container string, cmd []string, stdout, stderr io.Writer) error {
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, container)
	s.mu.Unlock()
	if n < len(s.script) {
		if err := s.script[n](container); err != nil {
			return err
		}
	}
	_, err := io.WriteString(stdout, minimalReport)
	return err
}

func fails(msg string) func(string) error {
	return func(string) error { return errors.New(msg) }
}

func TestExecRetriesPodDoesNotExist(t *testing.T) {
	spec := testSpec()
	pod, name := reusablePod(t, spec)

	t.Run("until the kubelet knows the pod", func(t *testing.T) {
		ex := &scriptedExec{script: []func(string) error{fails(podDoesNotExist), fails(podDoesNotExist), fails(podDoesNotExist)}}
		r := &Runner{Client: fake.NewClientset(pod.DeepCopy()), Spec: spec, Exec: ex.exec}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rep, err := r.Collect(ctx, pod, "app", nil, nil)
		if err != nil || rep == nil {
			t.Fatalf("Probe: %v, want the report after the kubelet admitted the pod", err)
		}
		if want := []string{name, name, name, name}; !slices.Equal(ex.calls, want) {
			t.Errorf("execs into %v, want %v", ex.calls, want)
		}
	})

	t.Run("persistent: names the node", func(t *testing.T) {
		ex := &scriptedExec{}
		for range 1000 {
			ex.script = append(ex.script, fails(podDoesNotExist))
		}
		r := &Runner{Client: fake.NewClientset(pod.DeepCopy()), Spec: spec, Exec: ex.exec}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Collect(ctx, pod, "app", nil, nil)
		var se *StepError
		var unknown *PodUnknownError
		if !errors.As(err, &se) || se.Step != "exec prober" || !errors.As(err, &unknown) {
			t.Fatalf("Probe: %v, want a PodUnknownError at step exec prober", err)
		}
		if unknown.Node != "node-1" || !strings.Contains(err.Error(), "node node-1") || !strings.Contains(err.Error(), "pod does not exist") {
			t.Errorf("error %q does not name node-1 and the kubelet's words", err)
		}
		if unknown.For < time.Second || time.Since(start) > 4*time.Second {
			t.Errorf("retried for %s (returned after %s), want about the 1.5s timeout", unknown.For, time.Since(start))
		}
		if len(ex.calls) < 3 {
			t.Errorf("%d execs, want retries within the timeout", len(ex.calls))
		}
	})

	t.Run("other exec errors are not retried", func(t *testing.T) {
		ex := &scriptedExec{script: []func(string) error{fails("command terminated with exit code 2")}}
		r := &Runner{Client: fake.NewClientset(pod.DeepCopy()), Spec: spec, Exec: ex.exec}
		_, err := r.Collect(context.Background(), pod, "app", nil, nil)
		var unknown *PodUnknownError
		if err == nil || errors.As(err, &unknown) || len(ex.calls) != 1 {
			t.Errorf("Probe: %v after %d execs, want the exit code error after one", err, len(ex.calls))
		}
	})
}

// After the restart the kubelet knows the pod again, but not the ephemeral container the
// old status reports running, and it will not start that one again: netdiff adds a new
// container and collects there, whatever the status says by then (still the stale
// Running, the kubelet's Waiting/ContainerCreating, or Terminated).
func TestStaleRunningContainerIsReplaced(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state *corev1.ContainerState // what the status says once the kubelet knows the pod; nil: unchanged
	}{
		{"status still running", nil},
		{"status waiting", &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
		{"status terminated", &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			pod, old := reusablePod(t, spec)
			cs := fake.NewClientset(pod.DeepCopy())
			kubeletKnowsThePod := func(container string) error {
				if tc.state != nil {
					p, err := cs.CoreV1().Pods("demo").Get(context.Background(), "web-a", metav1.GetOptions{})
					if err != nil {
						return err
					}
					p.Status.EphemeralContainerStatuses[0].State = *tc.state
					if _, err := cs.CoreV1().Pods("demo").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
						return err
					}
				}
				return fmt.Errorf("unable to upgrade connection: container not found (%q)", container)
			}
			ex := &scriptedExec{script: []func(string) error{fails(podDoesNotExist), kubeletKnowsThePod}}
			r := &Runner{Client: cs, Spec: spec, Exec: ex.exec}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := r.Collect(ctx, pod, "app", nil, nil)
			if err != nil || rep == nil {
				t.Fatalf("Probe: %v, want a report from a new container", err)
			}
			if len(ex.calls) != 3 || ex.calls[0] != old || ex.calls[1] != old || ex.calls[2] == old {
				t.Errorf("execs into %v, want %s twice, then a new container", ex.calls, old)
			}
			got, err := cs.CoreV1().Pods("demo").Get(ctx, "web-a", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(got.Spec.EphemeralContainers); n != 2 || got.Spec.EphemeralContainers[1].Name != ex.calls[2] {
				t.Errorf("pod has %d ephemeral containers, want the old one and %s", n, ex.calls[2])
			}
		})
	}
}

// A pod that sends more than a report is cut off at the bound, and the error says which
// pod and which stream overflowed.
func TestProberOutputIsBounded(t *testing.T) {
	spec := testSpec()
	pod, _ := reusablePod(t, spec)
	flood := func(ctx context.Context, _ *corev1.Pod, _ string, _ []string, stdout, _ io.Writer) error {
		chunk := strings.Repeat("x", 1024)
		for range 1000 {
			if _, err := io.WriteString(stdout, chunk); err != nil {
				return err
			}
		}
		return nil
	}
	r := &Runner{Client: fake.NewClientset(pod.DeepCopy()), Spec: spec, Exec: flood, MaxReport: 100 << 10}
	_, err := r.Collect(context.Background(), pod, "app", nil, &Timings{})
	var se *StepError
	if !errors.As(err, &se) || se.Pod != "demo/web-a" || !strings.Contains(err.Error(), "report (stdout) passed 102400 bytes") {
		t.Fatalf("err = %v, want the pod and the overflow named", err)
	}
	r.MaxReport = 2 << 20
	if _, err := r.Collect(context.Background(), pod, "app", nil, &Timings{}); err == nil || strings.Contains(err.Error(), "passed") {
		t.Errorf("under the bound the output is read (and is no report): %v", err)
	}
}
