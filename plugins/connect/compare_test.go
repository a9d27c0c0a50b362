package connect_test

import (
	"os"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // every rule, as kubectl-netdiff runs them
	"github.com/netdiff/kubectl-netdiff/plugins/connect"
)

// The whole pipeline: real reports, diff.Compare with every registered rule.
func TestCompareFindsThePlantedCause(t *testing.T) {
	a, b := connect.NewWorld(t)
	targets := []string{connect.SvcNoRoute, connect.OnLink8080}
	ra, rb := connect.Collect(t, a, targets...), connect.Collect(t, b, targets...)
	res, err := diff.Compare([]string{"A", "B"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]contract.Severity{}
	for _, f := range res.Findings {
		rules[f.Rule] = f.Severity
		t.Logf("%d %s: %s", f.Severity, f.Rule, f.Message)
	}
	for _, r := range []string{"connect/fails-here-works-there", "routeget/lookup-fails"} {
		if rules[r] != contract.Critical {
			t.Errorf("no Critical %s finding", r)
		}
	}
	if res.Findings[0].Severity != contract.Critical {
		t.Errorf("most severe finding first, got %+v", res.Findings[0])
	}
}

// Measures the brief's case: 5 targets, 5 attempts, burst 10, run by the real prober.
// `go test -run XXX -bench Collect ./plugins/connect/`
func BenchmarkCollectFiveTargets(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	_, nsB := connect.NewWorld(b)
	args := []string{"--quiet", "--attempts", "5", "--burst", "10", "--pid", connect.AppPID(nsB), "--target", connect.SvcNoRoute, "--target", connect.OnLink8080,
		"--target", connect.OnLink8081, "--target", connect.NoListener, "--target", connect.UDPClosed}
	b.ResetTimer()
	var ms int64
	for i := 0; i < b.N; i++ {
		ms += nsB.Collect(args...).DurationMS
	}
	b.ReportMetric(float64(ms)/float64(b.N), "report-ms/op")
}

// Two namespaces that differ only by their addresses must not make the active probes'
// rules speak: a rule that fires here fires on every pair of healthy replicas.
func TestHealthyPairGivesNoActiveFindings(t *testing.T) {
	a, b := connect.NewHealthyPair(t)
	targets := []string{"tcp://10.20.9.1:8080", "tcp://10.20.9.1:9", "udp://10.20.9.1:5353", "icmp://10.20.9.1", "tcp://10.20.7.1:80"}
	ra, rb := connect.Collect(t, a, targets...), connect.Collect(t, b, targets...)
	res, err := diff.Compare([]string{"A", "B"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		for _, p := range []string{"connect/", "routeget/", "icmp/", "dns/", "http/"} {
			if strings.HasPrefix(f.Rule, p) {
				t.Errorf("finding on a healthy pair: %s: %s", f.Rule, f.Message)
			}
		}
	}
}
