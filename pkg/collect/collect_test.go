package collect

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

type fakePlugin struct {
	name  string
	phase probe.Phase
	fn    func(ctx context.Context) (any, error)
	began *bool
}

func (f fakePlugin) Name() string                                           { return f.name }
func (f fakePlugin) Phase() probe.Phase                                     { return f.phase }
func (f fakePlugin) Collect(ctx context.Context, _ *probe.Env) (any, error) { return f.fn(ctx) }
func (f fakePlugin) Facts(json.RawMessage) ([]probe.Fact, error)            { return nil, nil }
func (f fakePlugin) Begin(context.Context, *probe.Env) error {
	if f.began != nil {
		*f.began = true
	}
	return nil
}

func TestCollectTurnsPluginFailuresIntoProblems(t *testing.T) {
	var began bool
	plugins := []probe.Plugin{
		fakePlugin{name: "ok", fn: func(context.Context) (any, error) { return map[string]int{"a": 1}, nil }, began: &began},
		fakePlugin{name: "errno", fn: func(context.Context) (any, error) { return nil, &syscallErr{syscall.EACCES} }},
		fakePlugin{name: "panics", fn: func(context.Context) (any, error) { panic("boom") }},
		fakePlugin{name: "hangs", phase: probe.Active, fn: func(context.Context) (any, error) { select {} }},
		fakePlugin{name: "partial", phase: probe.Active, fn: func(ctx context.Context) (any, error) {
			<-ctx.Done() // one lookup of several ran out: the section keeps what it has
			return []string{"kept"}, nil
		}},
	}
	env := &probe.Env{PID: 1, Timeout: 10 * time.Millisecond}
	start := time.Now()
	rep := Run(context.Background(), env, plugins, 0)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a hung plugin held the report for %s", d)
	}
	if !began {
		t.Error("Begin was not called on a WindowOpener")
	}
	if string(rep.Sections["ok"]) != `{"a":1}` {
		t.Errorf("ok section = %s", rep.Sections["ok"])
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.Section] = p.Error.Name()
	}
	if got["errno"] != "EACCES" {
		t.Errorf("errno problem = %q, want EACCES", got["errno"])
	}
	if !strings.Contains(got["panics"], "boom") {
		t.Errorf("panic problem = %q", got["panics"])
	}
	if string(rep.Sections["partial"]) != `["kept"]` {
		t.Errorf("a plugin that returned at its deadline lost its section: %s (problem %q)", rep.Sections["partial"], got["partial"])
	}
	if got["hangs"] != "ETIMEDOUT" {
		t.Errorf("hang problem = %q, want ETIMEDOUT", got["hangs"])
	}
	if len(rep.Problems) != 3 || rep.Problems[0].Section != "errno" {
		t.Errorf("problems not sorted or wrong count: %+v", rep.Problems)
	}
}

type syscallErr struct{ errno syscall.Errno }

func (e *syscallErr) Error() string { return "read /proc/1/environ: " + e.errno.Error() }
func (e *syscallErr) Unwrap() error { return e.errno }

// Static readers run while the active window is open (the active probe here only ends once
// the static reader has run); passive readers only after the active probes have ended.
func TestStaticReadersRunInsideTheWindow(t *testing.T) {
	staticRan := make(chan struct{})
	var activeDone atomic.Bool
	plugins := []probe.Plugin{
		fakePlugin{name: "static", phase: probe.Static, fn: func(context.Context) (any, error) {
			close(staticRan)
			return "s", nil
		}},
		fakePlugin{name: "active", phase: probe.Active, fn: func(ctx context.Context) (any, error) {
			defer activeDone.Store(true)
			select {
			case <-staticRan:
				return "inside", nil
			case <-time.After(2 * time.Second):
				return "after", nil
			}
		}},
		fakePlugin{name: "passive", phase: probe.Passive, fn: func(context.Context) (any, error) {
			return activeDone.Load(), nil
		}},
	}
	rep := Run(context.Background(), &probe.Env{PID: 1, Timeout: 5 * time.Second}, plugins, 0)
	for name, want := range map[string]string{"static": `"s"`, "active": `"inside"`, "passive": "true"} {
		if got := string(rep.Sections[name]); got != want {
			t.Errorf("section %s = %s, want %s (problems %+v)", name, got, want, rep.Problems)
		}
	}
}
