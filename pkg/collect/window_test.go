package collect

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// windowPlugin is a passive window opener that notes when its window opened and closed.
type windowPlugin struct{ begin, collect *time.Time }

func (windowPlugin) Name() string                                { return "window" }
func (windowPlugin) Phase() probe.Phase                          { return probe.Passive }
func (windowPlugin) Facts(json.RawMessage) ([]probe.Fact, error) { return nil, nil }
func (w windowPlugin) Begin(context.Context, *probe.Env) error   { *w.begin = time.Now(); return nil }
func (w windowPlugin) Collect(context.Context, *probe.Env) (any, error) {
	*w.collect = time.Now()
	return map[string]int{}, nil
}

func TestCollectWindowStaysOpenWithoutActiveProbes(t *testing.T) {
	const window = 300 * time.Millisecond
	for _, tt := range []struct {
		name      string
		min       time.Duration
		atLeast   time.Duration
		lessThan  time.Duration
		activeRun time.Duration
	}{
		{name: "no window: closes when the probes end", min: 0, atLeast: 0, lessThan: window},
		{name: "window outlasts quick probes", min: window, atLeast: window, lessThan: 3 * window, activeRun: 50 * time.Millisecond},
		{name: "probes longer than the window", min: 50 * time.Millisecond, atLeast: window, lessThan: 3 * window, activeRun: window},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var begin, collect time.Time
			var activeEnd time.Time
			plugins := []probe.Plugin{
				windowPlugin{&begin, &collect},
				fakePlugin{name: "active", phase: probe.Active, fn: func(context.Context) (any, error) {
					time.Sleep(tt.activeRun)
					activeEnd = time.Now()
					return 1, nil
				}},
			}
			Run(ctx, &probe.Env{PID: 1, Timeout: time.Second}, plugins, tt.min)
			if begin.IsZero() || collect.IsZero() {
				t.Fatal("window plugin not run")
			}
			if collect.Before(activeEnd) {
				t.Error("the window closed before the active probes ended")
			}
			if d := collect.Sub(begin); d < tt.atLeast || d >= tt.lessThan {
				t.Errorf("window lasted %s, want [%s, %s)", d, tt.atLeast, tt.lessThan)
			}
		})
	}
}

func TestCollectWindowEndsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	Run(ctx, &probe.Env{PID: 1, Timeout: time.Second}, nil, time.Minute)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a cancelled collect waited %s for its window", d)
	}
}

// readerPlugin is a passive plugin without a window: it only notes when it read.
type readerPlugin struct{ at *time.Time }

func (readerPlugin) Name() string                                { return "reader" }
func (readerPlugin) Phase() probe.Phase                          { return probe.Passive }
func (readerPlugin) Facts(json.RawMessage) ([]probe.Fact, error) { return nil, nil }
func (r readerPlugin) Collect(context.Context, *probe.Env) (any, error) {
	*r.at = time.Now()
	return 1, nil
}

// With a window longer than the probes, a passive reader reads as soon as the probes are
// done (it sees what they left), not when the window closes; the window opener still
// reads at the close, so its delta covers the whole window.
func TestPassiveReadersDoNotWaitForTheWindow(t *testing.T) {
	const window = 600 * time.Millisecond
	var begin, collect, read, activeEnd time.Time
	plugins := []probe.Plugin{
		windowPlugin{&begin, &collect},
		readerPlugin{&read},
		fakePlugin{name: "active", phase: probe.Active, fn: func(context.Context) (any, error) {
			time.Sleep(50 * time.Millisecond)
			activeEnd = time.Now()
			return 1, nil
		}},
	}
	Run(context.Background(), &probe.Env{PID: 1, Timeout: time.Second}, plugins, window)
	if read.Before(activeEnd) {
		t.Errorf("the reader read %s before the probes ended", activeEnd.Sub(read))
	}
	if !read.Before(begin.Add(window)) {
		t.Errorf("the reader waited for the window to close (read %s after it opened)", read.Sub(begin))
	}
	if collect.Sub(begin) < window {
		t.Errorf("the window opener read %s after the window opened, before the window closed", collect.Sub(begin))
	}
}
