package sysctls

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// BenchmarkCollect measures one collection of this section on the live system and
// reports the size of the section as stored in a report.
func BenchmarkCollect(b *testing.B) {
	env := &probe.Env{Proc: "/proc", PID: os.Getpid(), Logf: func(string, ...any) {}}
	var size int
	for b.Loop() {
		p := &Plugin{}
		if w, ok := any(p).(probe.WindowOpener); ok {
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
