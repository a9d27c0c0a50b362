package diff_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// nodeFault is one fault planted on the node's half of pod-b's path, or on the way back,
// in a Calico-shaped pair: each pod a /32 behind its own veth, default via 169.254.1.1
// answered by the node's proxy ARP, the node routing each pod's address to its veth and
// forwarding to a "remote" namespace that serves 10.88.0.1.
type nodeFault struct {
	name  string
	plant func(t *testing.T, n *calicoNode)
	// withNode must match the first finding when the node's half is read (--node-side);
	// without must match it when it is not.
	withNode, without string
}

var nodeFaults = []nodeFault{
	{name: "forward-drop-from-pod", withNode: `pod-b's node drops its packets in ip/filter/FORWARD`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.Exec("iptables", "-A", "FORWARD", "-s", n.ipB, "-p", "tcp", "-j", "DROP")
		}},
	{name: "forward-drop-replies", withNode: `pod-b's node drops its packets in ip/filter/FORWARD`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.Exec("iptables", "-A", "FORWARD", "-d", n.ipB, "-p", "tcp", "-m", "state", "--state", "ESTABLISHED", "-j", "DROP")
		}},
	{name: "nft-reject-in-forward", withNode: `pod-b's node rejects its packets in inet/pol/fw`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			for _, cmd := range [][]string{
				{"add", "table", "inet", "pol"},
				{"add", "chain", "inet", "pol", "fw", "{ type filter hook forward priority 0; }"},
				{"add", "rule", "inet", "pol", "fw", "ip", "saddr", n.ipB, "tcp", "dport", "8081", "reject"},
			} {
				n.node.Exec(append([]string{"nft"}, cmd...)...)
			}
		}},
	// Everything the pod sends, its replies to pod-a's connects included: pod-b's TCP
	// stack answers the node's rejects of its SYN-ACKs itself, and none of that is a
	// REJECT in the pod's own namespace.
	{name: "nft-reject-all-from-pod", withNode: `pod-b's node rejects its packets in inet/pol/fw`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			for _, cmd := range [][]string{
				{"add", "table", "inet", "pol"},
				{"add", "chain", "inet", "pol", "fw", "{ type filter hook forward priority 0; }"},
				{"add", "rule", "inet", "pol", "fw", "ip", "saddr", n.ipB, "reject"},
			} {
				n.node.Exec(append([]string{"nft"}, cmd...)...)
			}
		}},
	{name: "no-route-back", withNode: `pod-b.s node (has .*|routes its address )via 10\.88\.0\.1 dev uplink.*: its packets to pod-b never reach its veth`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) { n.node.IP("route", "del", n.ipB+"/32") }},
	{name: "blackhole-route-back", withNode: `pod-b.s node has .blackhole 10\.77\.0\.6. \(ip route\): its packets to pod-b never reach its veth`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.IP("route", "replace", "blackhole", n.ipB+"/32")
		}},
	{name: "route-back-wrong-veth", withNode: `pod-b.s node has .10\.77\.0\.6 dev cali-a. \(ip route\)`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.IP("route", "replace", n.ipB+"/32", "dev", "cali-a")
		}},
	{name: "dnat-to-nowhere", withNode: `(?i)dnat`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.Exec("iptables", "-t", "nat", "-A", "PREROUTING", "-s", n.ipB, "-p", "tcp", "--dport", "8080",
				"-j", "DNAT", "--to-destination", "10.88.0.1:9")
		}},
	// A fault whose consequence shows inside the pod: without proxy ARP on its veth the
	// pod's gateway never answers, so its neighbour entry fails. The node fact is the root.
	{name: "proxy-arp-off", withNode: `proxy_arp`, without: `169\.254\.1\.1`,
		plant: func(t *testing.T, n *calicoNode) {
			n.node.Exec("sysctl", "-qw", "net.ipv4.conf.cali-b.proxy_arp=0")
			n.b.IP("neigh", "flush", "dev", "eth0")
		}},
	// Beyond the node: the remote drops pod-b's packets; the pod and the node are alike.
	{name: "beyond-node", withNode: `beyond its node`, without: outsideHint,
		plant: func(t *testing.T, n *calicoNode) {
			n.remote.Exec("iptables", "-A", "INPUT", "-s", n.ipB, "-p", "tcp", "-j", "DROP")
		}},
}

// outsideHint is what the first finding says when the node's half was not read.
const outsideHint = `leave the pod and are lost.*rerun with --node-side`

// calicoNode is the node, its two pods and the remote they reach.
type calicoNode struct {
	node, a, b, remote *netnstest.NS
	ipA, ipB           string
	ifA, ifB           int // the node's end of each pod's veth
}

func newCalicoNode(t *testing.T) *calicoNode {
	c := netnstest.NewCalicoPair(t, "h", "8080", "8081")
	return &calicoNode{node: c.Node, a: c.A, b: c.B, remote: c.Remote, ipA: c.IPA, ipB: c.IPB, ifA: c.IfA, ifB: c.IfB}
}

// collectPair collects both pods at once, and each pod's node side as --node-side does.
func (n *calicoNode) collectPair(t *testing.T) (ra, rb *report.Report) {
	apps := map[*netnstest.NS]string{}
	for _, ns := range []*netnstest.NS{n.a, n.b} {
		apps[ns] = strconv.Itoa(ns.Start("sleep", "300").Process.Pid)
	}
	collect := func(ns *netnstest.NS, peer string) *report.Report {
		args := []string{"-q", "--pid", apps[ns], "--defaults", "--target", peer + ":8080",
			"--attempts", "3", "--burst", "3", "--timeout", "2s",
			"--target", "10.88.0.1:8080", "--target", "10.88.0.1:8081"}
		return ns.Collect(args...)
	}
	var wg sync.WaitGroup
	wg.Go(func() { ra = collect(n.a, n.ipB) })
	wg.Go(func() { rb = collect(n.b, n.ipA) })
	wg.Wait()
	if ra == nil || rb == nil {
		t.FailNow()
	}
	for _, side := range []struct {
		rep *report.Report
		ip  string
		idx int
	}{{ra, n.ipA, n.ifA}, {rb, n.ipB, n.ifB}} {
		node := n.node.Collect("-q", "--only", "nodeside", "--pod-ip", side.ip, "--pod-ifindex", strconv.Itoa(side.idx))
		raw, ok := node.Sections["nodeside"]
		if !ok {
			t.Fatalf("no nodeside section from the node")
		}
		side.rep.Sections["nodeside"] = raw
	}
	return ra, rb
}

// withoutNode is the report as collected without --node-side.
func withoutNode(r *report.Report) *report.Report {
	c := *r
	c.Sections = map[string]json.RawMessage{}
	for k, v := range r.Sections {
		if k != "nodeside" {
			c.Sections[k] = v
		}
	}
	return &c
}

// TestNodeHalfFaults plants each fault on the node's half of pod-b's path (or on the way
// back, or beyond the node) and diagnoses the pair twice: with the node's half read, the
// first finding is a cause naming the node's fact and explaining pod-b's symptoms; without
// it, the first finding says the packets left the pod and names the rerun.
func TestNodeHalfFaults(t *testing.T) {
	netnstest.RequireRoot(t)
	for _, nf := range nodeFaults {
		t.Run(nf.name, func(t *testing.T) {
			n := newCalicoNode(t)
			nf.plant(t, n)
			ra, rb := n.collectPair(t)
			for _, tc := range []struct {
				name  string
				ra    *report.Report
				rb    *report.Report
				names string
			}{{"node-side", ra, rb, nf.withNode}, {"pod-only", withoutNode(ra), withoutNode(rb), nf.without}} {
				res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{tc.ra, tc.rb}, diff.Options{})
				if err != nil {
					t.Fatal(err)
				}
				scorePlanted(t, "node/"+nf.name+"/"+tc.name, res, tc.names)
			}
		})
	}
}

// scorePlanted checks a planted fault's diagnosis: the first finding is a cause matching
// names that explains a symptom, and it is the only top-level cause that explains
// anything. It counts the result towards the summary make unit prints.
func scorePlanted(t *testing.T, name string, res *diff.Result, names string) bool {
	t.Helper()
	top := res.Findings[0]
	ok := top.Kind == diff.Cause && regexp.MustCompile(names).MatchString(top.Message+" "+top.Detail)
	explained := 0
	for _, f := range res.Findings {
		if f.Kind == diff.Symptom && contains(f.ExplainedBy, top.ID) {
			explained++
		}
	}
	causes := topLevelCauses(res)
	plantedTally.record(name, ok && explained > 0, causes)
	if !ok || explained == 0 || causes != 1 {
		var out strings.Builder
		_ = render.Render(&out, res, "wide", render.Options{})
		t.Errorf("%s: want one top-level cause, first, naming %q and explaining a symptom; got %d top-level causes:\n%s",
			name, names, causes, out.String())
		return false
	}
	t.Logf("%s first: %s (explains %d)", name, top.Message, len(top.Explains))
	return true
}

// topLevelCauses counts the causes shown on their own line that explain a symptom.
func topLevelCauses(res *diff.Result) int {
	n := 0
	for _, f := range res.Findings {
		if f.Kind == diff.Cause && f.ConsequenceOf == "" && len(f.Explains) > 0 {
			n++
		}
	}
	return n
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

var _ = diagnosis.RuleOutsidePod
