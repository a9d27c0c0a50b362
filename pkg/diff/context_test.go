package diff

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// countingCtx counts the calls of Err and reports itself cancelled from call doneAt on
// (never when doneAt is 0): a cancellation in the middle of the work, at a point that
// does not depend on timing.
type countingCtx struct {
	context.Context
	doneAt int64
	calls  atomic.Int64
	after  atomic.Int64 // calls once cancelled
}

func newCountingCtx(doneAt int64) *countingCtx {
	return &countingCtx{Context: context.Background(), doneAt: doneAt}
}

func (c *countingCtx) Err() error {
	if n := c.calls.Add(1); c.doneAt > 0 && n >= c.doneAt {
		c.after.Add(1)
		return context.Canceled
	}
	return nil
}

func TestCompareContextCancelled(t *testing.T) {
	reps := benchReports(t, 100000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := CompareContext(ctx, []string{"a", "b"}, reps, Options{})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("CompareContext(cancelled) = %v, %v; want nil, context.Canceled", res, err)
	}
}

// CompareContext looks at the context all along the work (not only between phases) and
// stops at the first look that finds it done.
func TestCompareContextStopsMidway(t *testing.T) {
	const n = 100000
	reps := benchReports(t, n)
	subjects := []string{"a", "b"}
	full := newCountingCtx(0)
	if _, err := CompareContext(full, subjects, reps, Options{}); err != nil {
		t.Fatal(err)
	}
	// Two subjects' facts normalised (2 × n), lined up (2 × n), made rows (n): one look
	// per checkEvery of each, and one per rule, so that a loop without its looks fails.
	if got, min := full.calls.Load(), int64(5*(n/checkEvery)+len(registeredNamedRules())); got < min {
		t.Fatalf("%d looks at the context for %d facts a side, want at least %d", got, n, min)
	}
	for _, at := range []int64{1, full.calls.Load() / 4, full.calls.Load() / 2, full.calls.Load() - 1} {
		ctx := newCountingCtx(at)
		res, err := CompareContext(ctx, subjects, reps, Options{})
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Fatalf("cancelled at look %d: %v, %v; want nil, context.Canceled", at, res, err)
		}
		// One look per subject's goroutine may follow the first that saw it done, and
		// the one after they are joined.
		if after := ctx.after.Load(); after > int64(len(subjects))+2 {
			t.Errorf("cancelled at look %d: %d more looks found it done before CompareContext returned", at, after)
		}
	}
}
