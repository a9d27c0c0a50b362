package podrun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/kexec"
)

// When --timeout ends while the container is still being waited for, the watcher's
// verdict (image, kubelet state, --image) is the error, not "context deadline exceeded".
func TestCtxErrorPrefersTheWatchersVerdict(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	waitErr := make(chan error, 1)
	waitErr <- errors.New(`container netdiff-x with image "img:v9" did not start within the timeout: … pass --image`)
	err := ctxError(ctx, "ns/p", "exec prober", waitErr)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "wait for container" || !strings.Contains(err.Error(), "--image") {
		t.Errorf("got %v, want the watcher's error at step wait for container", err)
	}
	// No watcher (a reused container): the context's own error at the given step.
	err = ctxError(ctx, "ns/p", "exec prober", nil)
	if !errors.As(err, &se) || se.Step != "exec prober" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want exec prober: deadline exceeded", err)
	}
	// Interrupted (Ctrl-C): not dressed up as a timeout.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	waitErr <- errors.New("container did not start")
	if err := ctxError(cctx, "ns/p", "wait for container", waitErr); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: got %v, want context.Canceled", err)
	}
}

// The kubelet's words for a pod it has not admitted are told apart from a container that
// is not running yet and from other exec failures.
func TestPodUnknownIsItsOwnState(t *testing.T) {
	for _, tc := range []struct {
		msg              string
		unknown, waiting bool
	}{
		{"Internal error occurred: unable to upgrade connection: pod does not exist", true, false},
		{"unable to upgrade connection: container not found (\"netdiff-ab12cd-1\")", false, true},
		{"command terminated with exit code 137", false, false},
	} {
		err := errors.New(tc.msg)
		if kexec.IsPodUnknown(err) != tc.unknown || kexec.IsNotReady(err) != tc.waiting {
			t.Errorf("%q: unknown %v waiting %v, want %v %v", tc.msg, kexec.IsPodUnknown(err), kexec.IsNotReady(err), tc.unknown, tc.waiting)
		}
	}
}
