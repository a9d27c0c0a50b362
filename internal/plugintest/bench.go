package plugintest

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// BenchCollect measures one collection of a section on the live system, with a fresh
// plugin from newPlugin each time (Begin, where the plugin has it, then Collect), and
// reports the size of the section as stored in a report.
func BenchCollect(b *testing.B, newPlugin func() probe.Plugin) {
	env := &probe.Env{Proc: "/proc", PID: os.Getpid(), Logf: func(string, ...any) {}}
	var size int
	for b.Loop() {
		p := newPlugin()
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
