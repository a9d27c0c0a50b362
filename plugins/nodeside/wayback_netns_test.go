package nodeside_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // every section, as kubectl-netdiff has them
)

// calicoPair is a node with two pods wired as Calico wires them (each pod a /32 behind
// its own veth, default via 169.254.1.1 answered by the node's proxy ARP, the node
// routing each pod's address to its veth) and a "remote" beyond the node's uplink that
// serves 10.88.0.1:8080.
type calicoPair struct {
	node, a, b, remote *netnstest.NS
	ipA, ipB           string
}

func newCalicoPair(t *testing.T) *calicoPair {
	c := netnstest.NewCalicoPair(t, "wb", "8080")
	return &calicoPair{node: c.Node, a: c.A, b: c.B, remote: c.Remote, ipA: c.IPA, ipB: c.IPB}
}

// collect collects both pods at once, each probing the other and the remote, and each
// pod's node side as --node-side does.
func (n *calicoPair) collect(t *testing.T) []*report.Report {
	apps := map[*netnstest.NS]string{}
	for _, ns := range []*netnstest.NS{n.a, n.b} {
		apps[ns] = strconv.Itoa(ns.Start("sleep", "300").Process.Pid)
	}
	reps := make([]*report.Report, 2)
	var wg sync.WaitGroup
	for i, p := range []struct {
		pod  *netnstest.NS
		peer string
	}{{n.a, n.ipB}, {n.b, n.ipA}} {
		wg.Go(func() {
			reps[i] = p.pod.Collect("-q", "--pid", apps[p.pod], "--defaults", "--target", p.peer+":8080",
				"--attempts", "3", "--burst", "3", "--timeout", "2s", "--target", "10.88.0.1:8080")
		})
	}
	wg.Wait()
	if reps[0] == nil || reps[1] == nil {
		t.FailNow()
	}
	for i, p := range []struct{ ip, host string }{{n.ipA, "cali-a"}, {n.ipB, "cali-b"}} {
		idx := strings.TrimSpace(n.node.Exec("cat", "/sys/class/net/"+p.host+"/ifindex"))
		node := n.node.Collect("-q", "--only", "nodeside", "--pod-ip", p.ip, "--pod-ifindex", idx)
		raw, ok := node.Sections["nodeside"]
		if !ok {
			t.Fatalf("no nodeside section from the node")
		}
		reps[i].Sections["nodeside"] = raw
	}
	return reps
}

// TestWayBackFaults plants faults on the node's way back to pod-b that the route to its
// address does not show: a policy rule sending replies from beyond the node to a table
// that drops them, a wrong neighbour entry for the pod on its veth. The first finding
// must be one cause naming the planted fact, about pod-b, and nothing may blame pod-a.
func TestWayBackFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(n *calicoPair)
		want  string
	}{
		// Replies arriving on the uplink to pod-b alone are looked up in a table whose
		// default is a blackhole: the node's own route to pod-b is fine.
		{"reply-rule-to-blackhole-table", func(n *calicoPair) {
			n.node.IP("rule", "add", "pref", "100", "iif", "uplink", "to", n.ipB, "lookup", "100")
			n.node.IP("route", "add", "blackhole", "default", "table", "100")
		}, "pod-b's node has `100: from all to 10.77.0.6 iif uplink lookup 100` \\(ip rule\\).*: replies to pod-b from beyond the node are routed nowhere"},
		// A rule every pod shares (all replies from the uplink go to table 100) and a
		// route in that table for pod-b alone.
		{"reply-table-unreachable-route", func(n *calicoPair) {
			n.node.IP("rule", "add", "pref", "100", "iif", "uplink", "lookup", "100")
			n.node.IP("route", "add", "unreachable", n.ipB, "table", "100")
		}, "pod-b's node has `unreachable 10.77.0.6 table 100` \\(ip route\\).*replies to pod-b from beyond the node are routed nowhere"},
		{"neigh-wrong-mac", func(n *calicoPair) {
			n.node.IP("neigh", "replace", n.ipB, "dev", "cali-b", "lladdr", "02:00:00:00:00:99", "nud", "permanent")
		}, "pod-b's node has `10.77.0.6 dev cali-b lladdr 02:00:00:00:00:99 PERMANENT`, not pod-b's MAC"},
		{"neigh-noarp-zero-mac", func(n *calicoPair) {
			n.node.IP("neigh", "replace", n.ipB, "dev", "cali-b", "lladdr", "00:00:00:00:00:00", "nud", "noarp")
		}, "pod-b's node has `10.77.0.6 dev cali-b lladdr 00:00:00:00:00:00 NOARP`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newCalicoPair(t)
			tc.plant(n)
			reps := n.collect(t)
			res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkFirst(t, res, tc.want)
			plugintest.GoldenHeadline(t, "node-"+tc.name, res.Findings[0])
		})
	}
}

// TestWayBackTwins: two healthy pods on one node: the node side names neither.
func TestWayBackTwins(t *testing.T) {
	n := newCalicoPair(t)
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, n.collect(t), diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		// The namespaces share the test's PID namespace: the processes each sees (the
		// test's own commands) differ, and explain nothing.
		if strings.HasPrefix(f.Rule, "nodeside/") || f.Kind == diff.Cause && len(f.Explains) > 0 {
			t.Errorf("twins: %s %s: %s", f.Rule, f.Kind, f.Message)
		}
	}
}

// checkFirst: the first finding is a cause about pod-b matching want that explains a
// symptom, the only top-level cause that explains one, and no cause is about pod-a.
func checkFirst(t *testing.T, res *diff.Result, want string) {
	t.Helper()
	top := res.Findings[0]
	explained, causes := 0, 0
	for _, f := range res.Findings {
		if f.Kind == diff.Symptom && slicesContains(f.ExplainedBy, top.ID) {
			explained++
		}
		if f.Kind == diff.Cause && f.ConsequenceOf == "" && len(f.Explains) > 0 {
			causes++
		}
		if f.Kind == diff.Cause && f.Subject == "pod-a" {
			t.Errorf("the healthy pod is blamed: %s", f.Message)
		}
	}
	if top.Kind != diff.Cause || top.Subject != "pod-b" || !regexp.MustCompile(want).MatchString(top.Message) || explained == 0 || causes != 1 {
		t.Errorf("want one top-level cause about pod-b, first, matching %q and explaining a symptom; got %d:\n%s", want, causes, findingLines(res))
		return
	}
	t.Logf("first: %s", top.Message)
}

// findingLines lists the findings, one a line, with what they explain and follow from.
func findingLines(res *diff.Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "%s %s %s [%s] explains %d, consequence of %q: %s\n", f.ID, f.Kind, f.Subject, f.Rule, len(f.Explains), f.ConsequenceOf, f.Message)
	}
	return b.String()
}

func slicesContains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestFelixDispatchTwins: Felix's dispatch chains as it programs them (one goto per
// workload interface, with a rule ID of its own in a comment, the chain split by the
// interfaces' names into leaves): two pods in different leaves, each dispatched to its
// own endpoint chain, are silent about the dispatch; a pod whose interface is
// dispatched to the other pod's chain is not.
func TestFelixDispatchTwins(t *testing.T) {
	felix := func(n *calicoPair, bTarget string) {
		ipt := func(args ...string) { n.node.Exec(append([]string{"iptables"}, args...)...) }
		for _, c := range []string{"cali-from-wl-dispatch", "cali-from-wl-dispatch-b", "cali-to-wl-dispatch",
			"cali-fw-cali-a", "cali-fw-cali-b", "cali-tw-cali-a", "cali-tw-cali-b"} {
			ipt("-N", c)
		}
		ipt("-A", "FORWARD", "-i", "cali+", "-j", "cali-from-wl-dispatch")
		ipt("-A", "FORWARD", "-o", "cali+", "-j", "cali-to-wl-dispatch")
		ipt("-A", "cali-from-wl-dispatch", "-i", "cali-a", "-m", "comment", "--comment", "cali:xngO7fvBMsvnonb4", "-g", "cali-fw-cali-a")
		ipt("-A", "cali-from-wl-dispatch", "-i", "cali-b+", "-m", "comment", "--comment", "cali:Zq2c_yDtdv7cxTNZ", "-g", "cali-from-wl-dispatch-b")
		ipt("-A", "cali-from-wl-dispatch-b", "-i", "cali-b", "-m", "comment", "--comment", "cali:yuw9gDhZpNnRaX7X", "-g", bTarget)
		ipt("-A", "cali-to-wl-dispatch", "-o", "cali-a", "-m", "comment", "--comment", "cali:bIanm0FGi44pCSA6", "-g", "cali-tw-cali-a")
		ipt("-A", "cali-to-wl-dispatch", "-o", "cali-b", "-m", "comment", "--comment", "cali:1LYlBSvvcAXnxnOF", "-g", "cali-tw-cali-b")
		for _, c := range []string{"cali-fw-cali-a", "cali-tw-cali-a", "cali-tw-cali-b"} {
			ipt("-A", c, "-j", "ACCEPT")
		}
		// pod-b's own egress chain drops what it sends to port 8080 of the remote: only
		// a dispatch of its interface to another chain gets its packets past it.
		ipt("-A", "cali-fw-cali-b", "-p", "tcp", "-d", "10.88.0.1", "-j", "DROP")
		ipt("-A", "cali-fw-cali-b", "-j", "ACCEPT")
	}
	t.Run("twins", func(t *testing.T) {
		n := newCalicoPair(t)
		felix(n, "cali-fw-cali-b")
		n.node.Exec("iptables", "-D", "cali-fw-cali-b", "-p", "tcp", "-d", "10.88.0.1", "-j", "DROP")
		res, err := diff.Compare([]string{"pod-a", "pod-b"}, n.collect(t), diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			if strings.HasPrefix(f.Rule, "nodeside/") || f.Kind == diff.Cause && len(f.Explains) > 0 {
				t.Errorf("twins: %s %s: %s", f.Rule, f.Kind, f.Message)
			}
		}
		for _, r := range res.Rows {
			if r.Section == "nodeside" && !r.Equal && (strings.Contains(r.Key, "dispatch") || strings.Contains(r.Key, "cali-")) {
				t.Errorf("twins differ in %s: %v", r.Key, r.Values)
			}
		}
	})
	t.Run("dispatched-to-the-other-pods-chain", func(t *testing.T) {
		n := newCalicoPair(t)
		felix(n, "cali-fw-cali-a")
		res, err := diff.Compare([]string{"pod-a", "pod-b"}, n.collect(t), diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		differs := false
		for _, r := range res.Rows {
			if r.Section == "nodeside" && !r.Equal && strings.HasPrefix(r.Key, "felix-dispatch/") {
				differs = true
				t.Logf("%s: %v", r.Key, r.Values)
			}
		}
		if !differs {
			t.Errorf("a dispatch to the other pod's chain lines up with the own")
		}
	})
}
