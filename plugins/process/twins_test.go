package process

import (
	"strconv"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestTwinsHaveNoFindings: two namespaces with the same target program must give no
// finding from this plugin's rules (but the process list: the host's other processes come
// and go between the two runs).
func TestTwinsHaveNoFindings(t *testing.T) {
	a, b := netnstest.New(t, "twa"), netnstest.New(t, "twb")
	collect := func(ns *netnstest.NS) *report.Report {
		pid := ns.Start("sleep", "300").Process.Pid
		waitExec(t, pid, "sleep")
		return ns.Collect("--quiet", "--target", "10.199.7.1:80", "--pid", strconv.Itoa(pid))
	}
	ra, rb := collect(a), collect(b)
	for _, f := range plugintest.Findings(t, "process", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		if f.Rule != "process/list" {
			t.Errorf("finding between identical namespaces: %+v", f)
		}
	}
}
