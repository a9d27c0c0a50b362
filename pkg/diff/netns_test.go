package diff_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
)

// pod is a namespace attached to the node's bridge, the way the bridge CNI wires pods.
func pod(t *testing.T, node *netnstest.NS, label, cidr string) *netnstest.NS {
	t.Helper()
	ns := netnstest.New(t, label)
	host := fmt.Sprintf("ndv%d%s", os.Getpid()%100000, label[len(label)-1:])
	if out, err := exec.Command("ip", "link", "add", host, "netns", node.Name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("veth for %s: %v: %s", label, err, out)
	}
	node.IP("link", "set", host, "master", "br0", "up")
	// A real pod's link-local address finished duplicate address detection long ago.
	ns.Exec("sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad")
	ns.IP("addr", "add", cidr, "dev", "eth0")
	ns.IP("link", "set", "eth0", "up")
	ns.IP("route", "add", "default", "via", "10.77.0.1")
	return ns
}

// Two healthy pods on one node, probing each other: after normalisation they do not
// differ. Then one loses its default route and the diff says so.
func TestRealReplicasDiffClean(t *testing.T) {
	node := netnstest.New(t, "node")
	node.IP("link", "add", "br0", "type", "bridge")
	node.IP("addr", "add", "10.77.0.1/24", "dev", "br0")
	node.IP("link", "set", "br0", "up")
	a := pod(t, node, "pod-a", "10.77.0.5/24")
	b := pod(t, node, "pod-b", "10.77.0.6/24")
	netnstest.Settle(t, a, b)
	a.ListenTCP("10.77.0.5:8080")
	b.ListenTCP("10.77.0.6:8080")

	collect := func(ns *netnstest.NS, peer string) *report.Report {
		return ns.Collect("-q", "--defaults", "--target", peer+":8080", "--attempts", "2", "--burst", "2", "--timeout", "2s")
	}
	// Both probers run at once, as kubectl netdiff runs them, so each sees the other's
	// probes inside its own window.
	var ra, rb *report.Report
	var wg sync.WaitGroup
	wg.Go(func() { ra = collect(a, "10.77.0.6") })
	wg.Go(func() { rb = collect(b, "10.77.0.5") })
	wg.Wait()
	if ra == nil || rb == nil {
		t.FailNow()
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, r := range res.Rows {
		// Test namespaces share the host's PID namespace: the process list is the
		// machine's, busy with other tests. Counters move with timing here (whether the
		// peer's probes and a fresh link's IPv6 chatter land inside a window); what this
		// test pins is that identity differences normalise away.
		if !r.Equal && r.Section != "process" && r.Section != "counters" {
			bad = append(bad, r.ID()+" = "+strings.Join(r.Values, " | "))
		}
	}
	for _, f := range res.Findings {
		if f.Severity >= diff.Low && !strings.HasPrefix(f.Rule, "process/") && !strings.HasPrefix(f.Rule, "counters/") {
			bad = append(bad, "finding "+f.Severity.String()+" "+f.Rule+": "+f.Message)
		}
	}
	if len(bad) > 0 {
		t.Errorf("healthy replicas differ:\n%s", strings.Join(bad, "\n"))
	}

	b.IP("route", "del", "default")
	rb = collect(b, "10.77.0.5")
	res, err = diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Differs() {
		t.Fatal("a pod without a default route does not differ")
	}
	row, ok := (&diff.Comparison{Rows: res.Rows}).Row("routes", "ipv4/main/unicast/default")
	if !ok || row.Equal || !row.Missing[1] {
		t.Errorf("default route row = %+v (found %v)", row, ok)
	}
	var out strings.Builder
	if err := render.Render(&out, res, "table", render.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("kubectl netdiff would print:\n%s", out.String())
	if !strings.Contains(out.String(), "CRITICAL") {
		t.Error("no critical finding for a pod without a default route")
	}
}
