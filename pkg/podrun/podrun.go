// Package podrun runs the prober in one pod: it reuses or adds the netdiff ephemeral
// container, execs `netdiff-prober collect` in it and decodes the report.
package podrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// NodePod is the node pod (namespace/name) the step ran in, for a pod probed from its
	// node (--via node); "" when the step was the pod's own.
	NodePod string
}

func (e *StepError) Error() string {
	if e.NodePod != "" {
		return fmt.Sprintf("pod %s (via node pod %s): %s: %v", e.Pod, e.NodePod, e.Step, e.Err)
	}
	return fmt.Sprintf("pod %s: %s: %v", e.Pod, e.Step, e.Err)
}
func (e *StepError) Unwrap() error { return e.Err }

// PodUnknownError is an exec that the kubelet of the pod's node kept answering with "pod
// does not exist" until the probe's time ran out: the API server has the pod (perhaps
// from before the node restarted), its node's kubelet does not run it.
type PodUnknownError struct {
	Node string
	For  time.Duration // from the first such answer to the end of the probe's time
	Err  error         // the last exec error, in the API server's words
}

func (e *PodUnknownError) Error() string {
	return fmt.Sprintf("the kubelet on node %s does not know this pod (for %s): %v", e.Node, e.For.Round(100*time.Millisecond), e.Err)
}
func (e *PodUnknownError) Unwrap() error { return e.Err }

// errStaleReuse marks an exec into a reused container, one the pod's status reports
// running, that the kubelet says is not: the status predates a node restart (or the
// container just ended), so Probe gets the pod again and decides afresh.
var errStaleReuse = errors.New("reused container is not running")

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
	// Exec runs a command in a container; nil is kexec.Exec through Config (tests set it).
	Exec func(ctx context.Context, pod *corev1.Pod, container string, cmd []string, stdout, stderr io.Writer) error
	// MaxReport bounds the prober's stdout (the report) in bytes; 0 is DefaultMaxReport.
	MaxReport int64
	// Gate, when not nil, holds the prober's collect until it closes (the container is
	// added and started meanwhile): a node pod's watch that must be open before the pod's
	// probes run (window.go).
	Gate <-chan struct{}
	// ExecStdin runs a command with the given stdin (WatchCollect); nil is kexec.ExecStdin
	// through Config (tests set it).
	ExecStdin func(ctx context.Context, pod *corev1.Pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// DefaultMaxReport: a report is tens of KiB; a pod that sends more is broken or hostile.
const DefaultMaxReport = 64 << 20

// maxProberStderr bounds the prober's stderr (progress lines, an error).
const maxProberStderr = 1 << 20

// errOverflow ends an exec whose output passed its bound.
var errOverflow = errors.New("output too large")

// capped is a buffer that takes at most max bytes: a write past that fails, which ends the
// exec stream, and the buffer remembers why.
// (Not an embedded bytes.Buffer: its WriteString would bypass the bound.)
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.buf.Len()+len(p)) > c.max {
		c.over = true
		return 0, errOverflow
	}
	return c.buf.Write(p)
}

func (c *capped) Len() int       { return c.buf.Len() }
func (c *capped) Bytes() []byte  { return c.buf.Bytes() }
func (c *capped) String() string { return c.buf.String() }

func (r *Runner) exec(ctx context.Context, pod *corev1.Pod, container string, cmd []string, stdout, stderr io.Writer) error {
	if r.Exec != nil {
		return r.Exec(ctx, pod, container, cmd, stdout, stderr)
	}
	return kexec.Exec(ctx, r.Config, r.Client.CoreV1().RESTClient(), pod.Namespace, pod.Name, container, cmd, stdout, stderr)
}

func (r *Runner) progress(pod, format string, args ...any) {
	if r.Progress != nil {
		r.Progress(pod, fmt.Sprintf(format, args...))
	}
}

// Collect runs `collect` with args in pod and returns the decoded report.
//
// A reused container that the pod's status reports running but the kubelet does not run
// (a status from before the node restarted, or a container that just ended) is not the
// end: Probe gets the pod again and adds a new container, never reusing or waiting for
// the stale one; that kubelet would not start it again.
func (r *Runner) Collect(ctx context.Context, pod *corev1.Pod, targetContainer string, args []string, tm *Timings) (*report.Report, error) {
	id := pod.Namespace + "/" + pod.Name
	stale := map[string]bool{}
	for {
		rep, name, err := r.probe(ctx, pod, targetContainer, args, stale, tm)
		var se *StepError
		if !errors.As(err, &se) || !errors.Is(se.Err, errStaleReuse) {
			return rep, err
		}
		r.progress(id, "container %s does not run any more (%v); adding another", name, se.Err)
		stale[name] = true
		fresh, gerr := r.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			if ctx.Err() != nil {
				return nil, se // the exec's own words say more than "deadline exceeded"
			}
			return nil, &StepError{Pod: id, Step: "get pod", Err: gerr}
		}
		pod = fresh
	}
}

// probe is one try of Probe; it returns the container it used, and skips the stale ones.
func (r *Runner) probe(ctx context.Context, pod *corev1.Pod, targetContainer string, args []string, stale map[string]bool, tm *Timings) (*report.Report, string, error) {
	id := pod.Namespace + "/" + pod.Name
	spec := r.Spec
	spec.TargetContainer = targetContainer
	pods := r.Client.CoreV1().Pods(pod.Namespace)

	name := inject.FindReusable(pod, spec)
	if stale[name] {
		name = ""
	}
	var waitErr chan error
	reused := name != ""
	if reused {
		r.progress(id, "reusing running container %s", name)
	} else {
		if name = inject.FindStarting(pod, spec); name != "" && !stale[name] {
			r.progress(id, "waiting for container %s, added by an earlier run", name)
		} else {
			start := time.Now()
			r.progress(id, "adding ephemeral container (image %s)", spec.Image)
			var err error
			name, err = inject.Add(ctx, pods, pod, spec)
			if err != nil {
				return nil, "", &StepError{Pod: id, Step: "add ephemeral container", Err: err}
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

	rep, err := r.collect(ctx, pod, name, args, waitErr, reused, tm)
	return rep, name, err
}

// CollectRunning collects in a container that already runs the prober (a reference pod).
func (r *Runner) CollectRunning(ctx context.Context, pod *corev1.Pod, container string, args []string, tm *Timings) (*report.Report, error) {
	return r.collect(ctx, pod, container, args, nil, false, tm)
}

func (r *Runner) collect(ctx context.Context, pod *corev1.Pod, name string, args []string, waitErr chan error, reused bool, tm *Timings) (*report.Report, error) {
	id := pod.Namespace + "/" + pod.Name
	cmd := append([]string{inject.ProberPath, "collect", "--stdin-watch", "--stamp", inject.StampPath}, args...)
	if r.Gate != nil {
		start := time.Now()
		select {
		case <-r.Gate:
		case <-ctx.Done():
			return nil, ctxError(ctx, id, "wait for the node's watch", waitErr)
		}
		tm.Add("wait-node-watch", start)
	}
	start := time.Now()
	r.progress(id, "collecting in %s", name)
	out, err := r.execRetrying(ctx, pod, name, cmd, waitErr, reused)
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

// firstRetry is the first wait of execRetrying.
const firstRetry = 20 * time.Millisecond

// execRetrying runs cmd until it succeeds, retrying the states that pass by themselves:
// a container not started yet (while waitErr, the watcher of a container just added, has
// not said otherwise) and a kubelet that does not know the pod yet (it answers "pod does
// not exist" until it has admitted it, e.g. after its node restarted), each within ctx.
// A reused container that exec finds not running ends in errStaleReuse.
func (r *Runner) execRetrying(ctx context.Context, pod *corev1.Pod, container string, cmd []string, waitErr <-chan error, reused bool) ([]byte, error) {
	id := pod.Namespace + "/" + pod.Name
	// A container just added runs some 50-150 ms after the patch and a failed exec takes
	// 20-30 ms itself: start close, then back off (x1.5, at most 1 s apart). A kubelet that
	// does not know the pod (a restarted node) takes seconds: 100 ms, x2.
	backoff, grow := 100*time.Millisecond, 2.0
	if waitErr != nil {
		backoff, grow = firstRetry, 1.5
	}
	var unknownSince time.Time // when the kubelet first said "pod does not exist", if it still does
	var lastUnknown error
	// unknownOrCtx is the error once ctx has ended: the kubelet's persistent "pod does not
	// exist" with the node named, else what ctxError makes of it.
	unknownOrCtx := func(step string) error {
		if lastUnknown != nil && ctx.Err() == context.DeadlineExceeded {
			return &StepError{Pod: id, Step: "exec prober", Err: &PodUnknownError{Node: pod.Spec.NodeName, For: time.Since(unknownSince), Err: lastUnknown}}
		}
		return ctxError(ctx, id, step, waitErr)
	}
	for {
		limit := r.MaxReport
		if limit <= 0 {
			limit = DefaultMaxReport
		}
		stdout, stderr := &capped{max: limit}, &capped{max: maxProberStderr}
		var errOut io.Writer = stderr
		if r.ProberErr != nil {
			errOut = io.MultiWriter(stderr, r.ProberErr(id))
		}
		err := r.exec(ctx, pod, container, cmd, stdout, errOut)
		if stdout.over || stderr.over {
			what, n := "report (stdout)", limit
			if stderr.over {
				what, n = "stderr", maxProberStderr
			}
			return nil, &StepError{Pod: id, Step: "read report", Err: fmt.Errorf("the prober's %s passed %d bytes and was cut off: the pod sent far more than a report; raise --max-report-size only if it is one", what, n)}
		}
		if err == nil {
			return stdout.Bytes(), nil
		}
		if ctx.Err() != nil {
			return nil, unknownOrCtx("exec prober")
		}
		unknown := kexec.IsPodUnknown(err) && stdout.Len() == 0
		if unknown {
			if lastUnknown == nil {
				unknownSince = time.Now()
				r.progress(id, "the kubelet on node %s does not know the pod yet (restarted node?); retrying", pod.Spec.NodeName)
			}
			lastUnknown = err
		} else {
			lastUnknown = nil
		}
		notReady := kexec.IsNotReady(err) && stdout.Len() == 0
		if notReady && reused && waitErr == nil {
			return nil, &StepError{Pod: id, Step: "exec prober", Err: fmt.Errorf("%w: %w", errStaleReuse, err)}
		}
		if !unknown && (!notReady || waitErr == nil) {
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
			backoff = min(time.Duration(float64(backoff)*grow), time.Second)
		case <-ctx.Done():
			step := "wait for container"
			if waitErr == nil {
				step = "exec prober"
			}
			return nil, unknownOrCtx(step)
		}
	}
}

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
