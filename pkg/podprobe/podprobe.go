// Package podprobe runs the prober in one pod: it reuses or adds the netdiff ephemeral
// container, execs `netdiff-prober collect` in it and decodes the report.
package podprobe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/kexec"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// StepError is a failure at one named step for one pod; the command turns it into the
// user-facing message (with the RBAC verb or the fix) in one place.
type StepError struct {
	Pod  string // namespace/name
	Step string // "get pod", "add ephemeral container", "wait for container", "exec prober", "read report"
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("pod %s: %s: %v", e.Pod, e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Timings records where the time went, per phase, for --timings.
type Timings struct {
	mu     sync.Mutex
	Phases []Phase
}

// Phase is one timed step.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Add records a phase that started at since; a nil Timings records nothing.
func (t *Timings) Add(name string, since time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Phases = append(t.Phases, Phase{name, time.Since(since)})
}

// Runner probes pods.
type Runner struct {
	Client kubernetes.Interface
	Config *rest.Config
	// Spec is the container to add; TargetContainer is set per pod.
	Spec inject.Spec
	// Progress reports steps (to stderr on a TTY); may be nil.
	Progress func(pod, msg string)
	// ProberErr, when set, returns where a pod's prober stderr (its progress) is copied.
	ProberErr func(pod string) io.Writer
}

func (r *Runner) progress(pod, format string, args ...any) {
	if r.Progress != nil {
		r.Progress(pod, fmt.Sprintf(format, args...))
	}
}

// Probe runs `collect` with args in pod and returns the decoded report.
func (r *Runner) Probe(ctx context.Context, pod *corev1.Pod, targetContainer string, args []string, tm *Timings) (*report.Report, error) {
	id := pod.Namespace + "/" + pod.Name
	spec := r.Spec
	spec.TargetContainer = targetContainer
	pods := r.Client.CoreV1().Pods(pod.Namespace)

	name := inject.FindReusable(pod, spec)
	var waitErr chan error
	if name != "" {
		r.progress(id, "reusing running container %s", name)
	} else {
		if name = inject.FindStarting(pod, spec); name != "" {
			r.progress(id, "waiting for container %s, added by an earlier run", name)
		} else {
			start := time.Now()
			r.progress(id, "adding ephemeral container (image %s)", spec.Image)
			var err error
			name, err = inject.Add(ctx, pods, pod, spec)
			if err != nil {
				return nil, &StepError{Pod: id, Step: "add ephemeral container", Err: err}
			}
			tm.Add("patch", start)
		}
		// Watch for the kubelet's verdict while exec is retried: an exec often works before
		// the status says Running, and a pull error must end the wait at once.
		waitErr = make(chan error, 1)
		waitCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			start := time.Now()
			err := inject.WaitRunning(waitCtx, pods, pod.Name, name, spec.Image)
			tm.Add("wait-running", start)
			waitErr <- err
		}()
	}

	return r.collect(ctx, pod, name, args, waitErr, tm)
}

// ProbeRunning collects in a container that already runs the prober (a reference pod).
func (r *Runner) ProbeRunning(ctx context.Context, pod *corev1.Pod, container string, args []string, tm *Timings) (*report.Report, error) {
	return r.collect(ctx, pod, container, args, nil, tm)
}

func (r *Runner) collect(ctx context.Context, pod *corev1.Pod, name string, args []string, waitErr chan error, tm *Timings) (*report.Report, error) {
	id := pod.Namespace + "/" + pod.Name
	cmd := append([]string{inject.ProberPath, "collect", "--stdin-watch", "--stamp", inject.StampPath}, args...)
	start := time.Now()
	r.progress(id, "collecting in %s", name)
	out, err := r.execRetrying(ctx, pod, name, cmd, waitErr)
	tm.Add("exec", start)
	if err != nil {
		return nil, err
	}
	rep, err := report.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, &StepError{Pod: id, Step: "read report", Err: fmt.Errorf("%w (got %d bytes from the prober in container %s)", err, len(out), name)}
	}
	r.progress(id, "report received (%d KiB)", len(out)/1024)
	return rep, nil
}

// podUnknownGrace is how long an exec refused because the kubelet does not know the pod
// is retried: a restarted kubelet admits the pods of its node within seconds.
var podUnknownGrace = 20 * time.Second

func (r *Runner) execRetrying(ctx context.Context, pod *corev1.Pod, container string, cmd []string, waitErr <-chan error) ([]byte, error) {
	id := pod.Namespace + "/" + pod.Name
	backoff := 100 * time.Millisecond
	var unknownSince time.Time
	for {
		var stdout, stderr bytes.Buffer
		var errOut io.Writer = &stderr
		if r.ProberErr != nil {
			errOut = io.MultiWriter(&stderr, r.ProberErr(id))
		}
		err := kexec.Exec(ctx, r.Config, r.Client.CoreV1().RESTClient(), pod.Namespace, pod.Name, container, cmd, &stdout, errOut)
		if err == nil {
			return stdout.Bytes(), nil
		}
		if ctx.Err() != nil {
			return nil, ctxError(ctx, id, "exec prober", waitErr)
		}
		if kexec.IsPodUnknown(err) && stdout.Len() == 0 {
			if unknownSince.IsZero() {
				unknownSince = time.Now()
				r.progress(id, "the kubelet on node %s does not know this pod yet; retrying for up to %s", pod.Spec.NodeName, podUnknownGrace)
			}
			if time.Since(unknownSince) >= podUnknownGrace {
				return nil, &StepError{Pod: id, Step: "exec prober", Err: &PodUnknownError{Node: pod.Spec.NodeName, For: podUnknownGrace, Err: err}}
			}
			select {
			case <-time.After(backoff):
				backoff = min(backoff*2, time.Second)
			case <-ctx.Done():
				return nil, ctxError(ctx, id, "exec prober", waitErr)
			}
			continue
		}
		if !kexec.IsNotReady(err) || stdout.Len() > 0 || waitErr == nil {
			msg := strings.TrimSpace(stderr.String())
			if msg != "" {
				err = fmt.Errorf("%w; prober said: %s", err, lastLines(msg, 3))
			}
			return nil, &StepError{Pod: id, Step: "exec prober", Err: err}
		}
		select {
		case werr := <-waitErr:
			if werr != nil {
				return nil, &StepError{Pod: id, Step: "wait for container", Err: werr}
			}
			waitErr = nil // running now: one more exec decides
		case <-time.After(backoff):
			backoff = min(backoff*2, time.Second)
		case <-ctx.Done():
			return nil, ctxError(ctx, id, "wait for container", waitErr)
		}
	}
}

// PodUnknownError: the pod's node runs a kubelet that does not know the pod, although
// the API server has it bound there.
type PodUnknownError struct {
	Node string
	For  time.Duration
	Err  error
}

func (e *PodUnknownError) Error() string {
	return fmt.Sprintf("the kubelet on node %s does not know this pod (for %s: %v); was the node or its kubelet restarted? "+
		"Its status may be stale: wait until the kubelet reports the pod running again (kubectl get pod -o wide), or recreate the pod", e.Node, e.For, e.Err)
}

func (e *PodUnknownError) Unwrap() error { return e.Err }

// ctxError is the error of a probe whose context ended. While the container was still
// being waited for, the watcher's verdict says more than "deadline exceeded" (which image,
// what the kubelet last reported); it returns promptly once ctx is done.
func ctxError(ctx context.Context, id, step string, waitErr <-chan error) error {
	if waitErr != nil {
		select {
		case werr := <-waitErr:
			if werr != nil && ctx.Err() == context.DeadlineExceeded {
				return &StepError{Pod: id, Step: "wait for container", Err: werr}
			}
		case <-time.After(2 * time.Second):
		}
	}
	return &StepError{Pod: id, Step: step, Err: ctx.Err()}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
