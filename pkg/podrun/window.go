package podrun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/kexec"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// WatchCollect runs the prober's collect with args in a container that runs it, or is
// about to (waitErr, when not nil, is the verdict of a watcher of its start: until then an
// exec that finds the container not running yet is tried again), with a window that lasts
// as long as another one: the prober (--window-end-on-stdin) calls opened once its window
// is open (every watch loaded), and closes it when end closes; then its report is read.
// args should bound the window (--window).
func (r *Runner) WatchCollect(ctx context.Context, pod *corev1.Pod, container string, args []string, opened func(), end <-chan struct{}, waitErr <-chan error) (*report.Report, error) {
	id := pod.Namespace + "/" + pod.Name
	cmd := append([]string{inject.ProberPath, "collect", "--window-end-on-stdin", "--stamp", inject.StampPath}, args...)
	limit := r.MaxReport
	if limit <= 0 {
		limit = DefaultMaxReport
	}
	r.progress(id, "watching in %s", container)
	backoff := firstRetry
	for {
		stdout := &capped{max: limit}
		stderr := &openedLine{capped: capped{max: maxProberStderr}, opened: opened}
		err := r.watchOnce(ctx, pod, container, cmd, end, stdout, stderr)
		if stdout.over || stderr.over {
			return nil, &StepError{Pod: id, Step: "read report", Err: fmt.Errorf("the prober's output passed its bound and was cut off")}
		}
		if err == nil {
			rep, err := report.Decode(bytes.NewReader(stdout.Bytes()))
			if err != nil {
				return nil, &StepError{Pod: id, Step: "read report", Err: fmt.Errorf("%w (got %d bytes from the prober in container %s)", err, stdout.Len(), container)}
			}
			return rep, nil
		}
		if ctx.Err() != nil {
			return nil, ctxError(ctx, id, "exec prober (watch)", waitErr)
		}
		if waitErr == nil || stdout.Len() > 0 || stderr.seen() || !kexec.IsNotReady(err) && !kexec.IsPodUnknown(err) {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				err = fmt.Errorf("%w; prober said: %s", err, lastLines(msg, 3))
			}
			return nil, &StepError{Pod: id, Step: "exec prober (watch)", Err: err}
		}
		select {
		case werr := <-waitErr:
			if werr != nil {
				return nil, &StepError{Pod: id, Step: "wait for node pod", Err: werr}
			}
			waitErr = nil // running now: one more exec decides
		case <-time.After(backoff):
			backoff = min(backoff*3/2, time.Second)
		case <-ctx.Done():
			return nil, ctxError(ctx, id, "wait for node pod", waitErr)
		}
	}
}

// watchOnce is one exec of the watch: its stdin gets a line when end closes, and stays
// open until the exec ends (its end would close the window too).
func (r *Runner) watchOnce(ctx context.Context, pod *corev1.Pod, container string, cmd []string, end <-chan struct{}, stdout, stderr io.Writer) error {
	stdin, w := io.Pipe()
	defer w.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-end:
			_, _ = w.Write([]byte("\n"))
		case <-ctx.Done():
		case <-done:
		}
	}()
	if r.ExecStdin != nil {
		return r.ExecStdin(ctx, pod, container, cmd, stdin, stdout, stderr)
	}
	return kexec.ExecStdin(ctx, r.Config, r.Client.CoreV1().RESTClient(), pod.Namespace, pod.Name, container, cmd, stdin, stdout, stderr)
}

// openedLine is the prober's stderr, kept (bounded) for an error message, that calls
// opened once when the line probe.WindowOpenLine passes.
type openedLine struct {
	capped
	mu     sync.Mutex
	line   []byte
	opened func()
	was    bool // the line passed
}

func (o *openedLine) seen() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.was
}

func (o *openedLine) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.opened != nil {
		o.line = append(o.line, p...)
		for {
			i := bytes.IndexByte(o.line, '\n')
			if i < 0 {
				if len(o.line) > 4096 {
					o.line = o.line[:0]
				}
				break
			}
			if string(bytes.TrimSpace(o.line[:i])) == probe.WindowOpenLine {
				o.opened()
				o.opened = nil
				o.was = true
				o.line = nil
				break
			}
			o.line = o.line[i+1:]
		}
	}
	return o.capped.Write(p)
}
