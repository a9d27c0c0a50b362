package counters

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestTwinsHaveNoFindings: two namespaces built the same way must give no finding from
// this plugin's rules, or the rules would bury real causes in noise.
func TestTwinsHaveNoFindings(t *testing.T) {
	a, b := netnstest.New(t, "twa"), netnstest.New(t, "twb")
	// The same unroutable target in both: the probes fail the same way in each.
	args := []string{"--quiet", "--target", "10.199.7.1:80"}
	ra, rb := a.Collect(args...), b.Collect(args...)
	for _, f := range findings(t, []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		t.Errorf("finding between identical namespaces: %+v", f)
	}
}
