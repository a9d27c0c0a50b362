package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// maxReportBytes is the report budget on a normal pod: it crosses the API server in an exec
// stream and is attached to bug reports.
const maxReportBytes = 256 << 10

// runProber runs the real static prober in ns and returns its stdout and rusage.
func runProber(t testing.TB, ns *netnstest.NS, args ...string) ([]byte, *syscall.Rusage) {
	t.Helper()
	// Build before the deadline starts: a cold build under load takes longer than a minute.
	prober := netnstest.Prober(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, append([]string{prober, "collect", "-q"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("prober: %v\n%s", err, errOut.String())
	}
	return out.Bytes(), cmd.ProcessState.SysUsage().(*syscall.Rusage)
}

// pairNS is a small "pod": a namespace with a veth to a peer namespace and a default route.
func pairNS(t testing.TB) (*netnstest.NS, *netnstest.NS) {
	pod := netnstest.New(t, "pod")
	peer := netnstest.New(t, "peer")
	netnstest.Veth(t, pod, "10.200.0.2/24", peer, "10.200.0.1/24")
	pod.IP("route", "add", "default", "via", "10.200.0.1")
	return pod, peer
}

func TestReportIsWholeAndSmall(t *testing.T) {
	pod, peer := pairNS(t)
	peer.ListenTCP("10.200.0.1:8080")
	out, _ := runProber(t, pod, "--target", "10.200.0.1:8080", "--timeout", "2s")
	if len(out) > maxReportBytes {
		t.Errorf("report is %d bytes on a small namespace, budget %d", len(out), maxReportBytes)
	}
	rep, err := report.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProberVersion == "" || rep.Hostname == "" || rep.Time.IsZero() || len(rep.Sections) == 0 {
		t.Errorf("report metadata incomplete: version=%q host=%q time=%v sections=%d", rep.ProberVersion, rep.Hostname, rep.Time, len(rep.Sections))
	}
	for _, p := range rep.Problems {
		t.Logf("problem (data, not failure): %s: %s", p.Section, p.Error.Message)
	}
}

// BenchmarkCollect reports the prober's wall time, CPU time, peak RSS and report size on a
// small namespace and on one with 10,000 routes and 5,000 neighbours.
func BenchmarkCollect(b *testing.B) {
	for _, size := range []struct {
		name          string
		routes, neigh int
	}{{"normal", 0, 0}, {"10k-routes-5k-neigh", 10000, 5000}} {
		b.Run(size.name, func(b *testing.B) {
			pod, _ := pairNS(b)
			if size.routes > 0 {
				batch(b, pod, size.routes, size.neigh)
			}
			var maxRSS int64
			var cpu time.Duration
			var bytesOut int
			b.ResetTimer()
			for range b.N {
				out, ru := runProber(b, pod, "--target", "10.200.0.1:9", "--timeout", "1s", "--attempts", "1", "--burst", "2")
				maxRSS = max(maxRSS, ru.Maxrss)
				cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				bytesOut = len(out)
			}
			b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(bytesOut)/1024, "report-KiB")
		})
	}
}

func batch(b *testing.B, ns *netnstest.NS, routes, neigh int) {
	var sb strings.Builder
	for i := range routes {
		fmt.Fprintf(&sb, "route add 100.64.%d.%d/32 via 10.200.0.1\n", i/256, i%256)
	}
	for i := range neigh {
		fmt.Fprintf(&sb, "neigh add 10.200.%d.%d lladdr 02:00:00:00:%02x:%02x dev veth0 nud permanent\n", 1+i/250, 1+i%250, i/256, i%256)
	}
	file := filepath.Join(b.TempDir(), "batch")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	ns.IP("route", "add", "10.200.0.0/16", "dev", "veth0")
	ns.IP("-batch", file)
}
