package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// countingCtx counts the calls of Err and reports itself cancelled from call doneAt on
// (never when doneAt is 0): a cancellation in the middle of the work, at a point that
// does not depend on timing. Its Done channel is nil, like Background's.
type countingCtx struct {
	context.Context
	doneAt int64
	calls  atomic.Int64
	after  atomic.Int64 // calls once cancelled
}

func (c *countingCtx) Err() error {
	if n := c.calls.Add(1); c.doneAt > 0 && n >= c.doneAt {
		c.after.Add(1)
		return context.Canceled
	}
	return nil
}

// bigResult has n rows, every 100th differing.
func bigResult(n int) *diff.Result {
	res := &diff.Result{Subjects: []string{"a", "b"}, Rows: make([]diff.Row, n)}
	for i := range res.Rows {
		v := fmt.Sprintf("via 10.244.0.1 dev eth0 src 10.244.%d.%d", i/256%256, i%256)
		w := v
		if i%100 == 0 {
			w = "via 10.244.0.254"
		}
		res.Rows[i] = diff.Row{Section: "routes", Key: fmt.Sprintf("table/main/10.%d.%d.0/24", i/256%256, i%256),
			Values: []string{v, w}, Missing: []bool{false, false}, Equal: v == w}
	}
	return res
}

// A cancelled context stops every format before anything is printed.
func TestRenderContextCancelled(t *testing.T) {
	res := bigResult(100000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := RenderContext(ctx, &buf, res, format, Options{All: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: RenderContext(cancelled) = %v, want context.Canceled", format, err)
		}
		if buf.Len() > 0 {
			t.Errorf("%s: %d bytes printed after the context was cancelled", format, buf.Len())
		}
	}
}

// RenderContext looks at the context all along the rows and stops at the first look that
// finds it done.
func TestRenderContextStopsMidway(t *testing.T) {
	const n = 20 * checkEvery
	res := bigResult(n)
	for _, format := range Formats {
		full := &countingCtx{Context: context.Background()}
		if err := RenderContext(full, &bytes.Buffer{}, res, format, Options{All: true}); err != nil {
			t.Fatal(err)
		}
		// table and wide: the rows laid out, then written; json and yaml: converted.
		min := int64(n / checkEvery)
		if format == "table" || format == "wide" {
			min *= 2
		}
		if got := full.calls.Load(); got < min {
			t.Fatalf("%s: %d looks at the context for %d rows, want at least %d", format, got, n, min)
		}
		for _, at := range []int64{1, full.calls.Load() / 2, full.calls.Load() - 1} {
			ctx := &countingCtx{Context: context.Background(), doneAt: at}
			if err := RenderContext(ctx, &bytes.Buffer{}, res, format, Options{All: true}); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s cancelled at look %d: %v, want context.Canceled", format, at, err)
			}
			if after := ctx.after.Load(); after > 1 {
				t.Errorf("%s cancelled at look %d: %d more looks found it done before RenderContext returned", format, at, after-1)
			}
		}
	}
}

// A marshal that outlasts the context is left behind: RenderContext returns at once.
func TestMarshalContextReturnsWhenDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	_, err := marshalContext(ctx, func() ([]byte, error) {
		close(started)
		<-release // never returns while marshalContext waits
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("marshalContext = %v, want context.Canceled", err)
	}
}
