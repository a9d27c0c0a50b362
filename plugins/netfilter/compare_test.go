package netfilter

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// findings runs the real diff engine on real reports with only this plugin's rules.
func findings(t *testing.T, names []string, reps []*report.Report) []diff.Finding {
	t.Helper()
	res, err := diff.Compare(names, reps, diff.Options{Rules: func(n string) bool { return strings.HasPrefix(n, "netfilter/") }})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runtimeKeepAlive keeps a buffer the kernel reads through a pointer alive until here.
func runtimeKeepAlive(v any) { runtime.KeepAlive(v) }
