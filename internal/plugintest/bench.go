package plugintest

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// BenchCollect measures one collection of the named section on the live system, with a
// fresh plugin each time (Begin, where the plugin has it, then Collect), and reports the
// size of the section as stored in a report.
func BenchCollect(b *testing.B, name string) {
	env := &probe.Env{Proc: "/proc", PID: os.Getpid(), Logf: func(string, ...any) {}}
	var size int
	for b.Loop() {
		p := Plugin(b, name)
		if w, ok := p.(probe.WindowOpener); ok {
			_ = w.Begin(context.Background(), env)
		}
		v, err := p.Collect(context.Background(), env)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
	}
	b.ReportMetric(float64(size), "section-bytes")
}

// Plugin returns a fresh instance of the named registered plugin.
func Plugin(t testing.TB, name string) probe.Plugin {
	t.Helper()
	p, ok := probe.Lookup(name)
	if !ok {
		t.Fatalf("no plugin %q registered", name)
	}
	return p
}
