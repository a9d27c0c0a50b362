package routes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
	"github.com/netdiff/kubectl-netdiff/plugins/neighbours"
	"github.com/netdiff/kubectl-netdiff/plugins/netns"
	"github.com/netdiff/kubectl-netdiff/plugins/routes"
	"github.com/netdiff/kubectl-netdiff/plugins/rules"
)

// TestScale fills a namespace with 10,000 routes and 5,000 neighbours and logs how long
// each netlink plugin takes and how big its section and the whole report get. It fails
// when a section is not capped or a plugin takes longer than five seconds.
func TestScale(t *testing.T) {
	ns := netnstest.New(t, "scale")
	netnstest.Veth(t, ns, "10.80.0.1/16", netnstest.New(t, "scale2"), "10.80.0.2/16")
	var batch strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&batch, "route add 10.%d.%d.0/24 via 10.80.0.2 table %d\n", 100+i/256, i%256, 1+i%4*50+i%2)
	}
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&batch, "neigh add 10.80.%d.%d lladdr 02:00:00:00:%02x:%02x dev veth0 nud permanent\n", 1+i/250, 1+i%250, i>>8, i&0xff)
	}
	file := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(file, []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ns.IP("-batch", file)

	mine := 0
	env := &probe.Env{PID: os.Getpid(), Proc: "/proc", Logf: func(string, ...any) {}}
	for _, name := range []string{interfaces.Name, routes.Name, rules.Name, neighbours.Name, netns.Name} {
		p := plugintest.Plugin(t, name)
		var v any
		var took time.Duration
		err := ns.Do(func() (err error) {
			start := time.Now()
			v, err = p.Collect(context.Background(), env)
			took = time.Since(start)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		b, _ := json.Marshal(v)
		facts, err := p.Facts(b)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-10s collect %7.1f ms  section %7d bytes  %5d facts", p.Name(), float64(took.Microseconds())/1000, len(b), len(facts))
		if took > 5*time.Second { // generous: CI shares its cores; the logged time is the measurement
			t.Errorf("%s took %s", p.Name(), took)
		}
		mine += len(b)
	}

	// These five sections share the 256 KiB report with every other plugin.
	if mine > 128<<10 {
		t.Errorf("the netlink sections take %d bytes together, over 128 KiB: caps too high", mine)
	}

	// The whole report from the real prober, with its own per-plugin timings.
	cmd := ns.Command(context.Background(), netnstest.Prober(t), "collect", "--timeout", "1s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("prober: %v\n%s", err, stderr.String())
	}
	rep, err := report.Decode(bytes.NewReader(stdout.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var s routes.Section
	netnstest.Section(t, rep, routes.Name, &s)
	if !s.Truncated || s.Total < 10000 {
		t.Errorf("routes section: truncated=%v total=%d, want the 10,000 planted routes counted and the list capped", s.Truncated, s.Total)
	}
	for _, m := range regexp.MustCompile(`(?m)^netdiff-prober: (\S+): done in (\S+)$`).FindAllStringSubmatch(stderr.String(), -1) {
		t.Logf("prober: %-10s done in %s", m[1], m[2])
	}
	for name, raw := range rep.Sections {
		t.Logf("report section %-10s %7d bytes", name, len(raw))
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB; `ip netns exec` execs the prober, so this is the prober's peak
	}
	t.Logf("whole report %d bytes (%.1f KiB), prober duration %d ms, peak RSS %.1f MiB", stdout.Len(), float64(stdout.Len())/1024, rep.DurationMS, float64(rss)/1024)
}
