package plugintest

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TwinsHaveNoFindings builds two namespaces the same way and fails on any finding of the
// section's rules between them: rules that fire on twins would bury real causes in noise.
func TwinsHaveNoFindings(t *testing.T, section string) {
	t.Helper()
	a, b := netnstest.New(t, "twa"), netnstest.New(t, "twb")
	// The same unroutable target in both: the probes fail the same way in each.
	args := []string{"--quiet", "--target", "10.199.7.1:80"}
	ra, rb := a.Collect(args...), b.Collect(args...)
	for _, f := range Findings(t, section, []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		t.Errorf("finding between identical namespaces: %+v", f)
	}
}
