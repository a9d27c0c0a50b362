//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// causes are the top-level causes that explain something: one planted fault, one.
func (d diffJSON) causes() []int {
	var out []int
	for i, f := range d.Findings {
		if f.Kind == "cause" && f.ConsequenceOf == "" && len(f.Explains) > 0 {
			out = append(out, i)
		}
	}
	return out
}

// make demo's pair: web-broken lost its default route, so it never sent anything to its
// gateway and has no neighbour entry for it. That is one fault: one top-level cause, the
// route, with the neighbour entry folded under it as a consequence.
func TestDemoOneCause(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "web-broken", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	causes := d.causes()
	if len(causes) != 1 || causes[0] != 0 || !strings.Contains(d.Findings[0].Message, "no IPv4 default route") {
		t.Fatalf("want exactly one top-level cause, first, the missing default route; got %d:\n%s", len(causes), clip(r.stdout))
	}
	top := d.Findings[0]
	folded := false
	for _, f := range d.Findings {
		if f.ConsequenceOf == top.ID && strings.Contains(strings.Join(f.Keys, " "), "neighbours/") {
			folded = true
		}
	}
	if !folded {
		t.Errorf("the missing neighbour entry is not folded under the route:\n%s", clip(r.stdout))
	}
	t.Logf("first: %s (explains %d, consequences %v)", top.Message, len(top.Explains), top.Consequences)
}

// Faults planted on web-b's node, in the node's own network namespace, for web-b's
// address only: each run with --node-side and with --node-side=auto names the node's fact
// first, as the one top-level cause; without the node side the first finding says web-b's
// packets left the pod and names the rerun.
func TestNodeFaultsNamed(t *testing.T) {
	x := need(t)
	if os.Getenv("NETDIFF_E2E_LOCAL") == "" || os.Getenv("NETDIFF_CLUSTER_CNI") == "ptp" {
		t.Skip("plants faults in the local cluster's node namespaces (make e2e, Calico profile)")
	}
	ctx := context.Background()
	cs, _ := x.clients(t)
	pod, err := cs.CoreV1().Pods(x.nsA).Get(ctx, "web-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, node := pod.Status.PodIP, pod.Spec.NodeName
	inNode := func(t *testing.T, args ...string) {
		t.Helper()
		out, err := exec.Command("nsenter", append([]string{"--net=/run/netns/" + node}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("in node %s: %s: %v: %s", node, strings.Join(args, " "), err, out)
		}
	}
	// The host end of web-b's veth, for entries of the node on that device.
	veth := ""
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+node, "ip", "-o", "route", "get", ip).CombinedOutput(); err == nil {
		if f := strings.Fields(string(out)); slices.Index(f, "dev") >= 0 && slices.Index(f, "dev")+1 < len(f) {
			veth = f[slices.Index(f, "dev")+1]
		}
	}
	if veth == "" {
		t.Fatalf("no route to web-b's %s on node %s", ip, node)
	}
	for _, f := range []struct {
		name           string
		plant, restore [][]string
		names          string
		// nodeSideOnly: without the node side, what the pod sees of it is not asserted.
		nodeSideOnly bool
	}{
		// Tables of their own, hooked before everything else: a CNI's policy agent
		// (Felix) keeps its own rules first in the iptables chains it manages, and an
		// accept there would hide a rule appended after it; a drop in any base chain is final.
		{"forward-drop-from-pod",
			[][]string{{"nft", "add", "table", "inet", "e2efault"},
				{"nft", "add", "chain", "inet", "e2efault", "fw", "{ type filter hook forward priority -200; }"},
				{"nft", "add", "rule", "inet", "e2efault", "fw", "ip", "saddr", ip, "drop"}},
			[][]string{{"nft", "delete", "table", "inet", "e2efault"}},
			// With --node-side the node's namespace is watched: the kernel's drop there,
			// naming the rule as the state of its place, or the node side's own words.
			`web-b's node drops its packets in inet/e2efault/fw|inet/e2efault/fw: drop.* on web-b's node .*DROP`, false},
		{"forward-drop-replies",
			[][]string{{"nft", "add", "table", "inet", "e2efault"},
				{"nft", "add", "chain", "inet", "e2efault", "fw", "{ type filter hook forward priority -200; }"},
				{"nft", "add", "rule", "inet", "e2efault", "fw", "ip", "daddr", ip, "ct", "state", "established", "drop"}},
			[][]string{{"nft", "delete", "table", "inet", "e2efault"}},
			// With --node-side the node's namespace is watched: the kernel's drop there,
			// naming the rule as the state of its place, or the node side's own words.
			`web-b's node drops its packets in inet/e2efault/fw|inet/e2efault/fw: drop.* on web-b's node .*DROP`, false},
		{"nft-reject",
			[][]string{{"nft", "add", "table", "inet", "e2efault"},
				{"nft", "add", "chain", "inet", "e2efault", "fw", "{ type filter hook forward priority -200; }"},
				{"nft", "add", "rule", "inet", "e2efault", "fw", "ip", "saddr", ip, "reject"}},
			[][]string{{"nft", "delete", "table", "inet", "e2efault"}},
			`web-b's node rejects its packets in inet/e2efault/fw|inet/e2efault/fw: reject.* on web-b's node .*REJECT`, false},
		// The route back through a policy rule and a table of its own: Felix repairs a
		// workload route replaced in the main table within seconds, not another table.
		{"blackhole-route-back",
			[][]string{{"ip", "route", "add", "blackhole", ip + "/32", "table", "250"},
				{"ip", "rule", "add", "to", ip + "/32", "lookup", "250", "pref", "90"}},
			[][]string{{"ip", "rule", "del", "to", ip + "/32", "lookup", "250", "pref", "90"},
				{"ip", "route", "del", "blackhole", ip + "/32", "table", "250"}},
			`web-b's node has .*.blackhole ` + regexp.QuoteMeta(ip) + ` table 250. \(ip route\)|250/blackhole/.* on web-b's node .*error route`, false},
		// A policy rule for web-b's address alone into a table whose default every pod
		// would share: the rule is the fault.
		{"rule-to-unreachable-table",
			[][]string{{"ip", "route", "add", "unreachable", "default", "table", "251"},
				{"ip", "rule", "add", "to", ip + "/32", "lookup", "251", "pref", "91"}},
			[][]string{{"ip", "rule", "del", "to", ip + "/32", "lookup", "251", "pref", "91"},
				{"ip", "route", "del", "unreachable", "default", "table", "251"}},
			"`91: from all to " + regexp.QuoteMeta(ip) + " lookup 251` \\(ip rule\\)", false},
		// The node's neighbour entry for web-b on its veth holds another MAC: the node
		// routes to web-b as before, and sends the frames where web-b's eth0 drops them.
		{"wrong-neighbour-entry",
			[][]string{{"ip", "neigh", "replace", ip, "dev", veth, "lladdr", "02:00:00:00:00:99", "nud", "permanent"}},
			[][]string{{"ip", "neigh", "del", ip, "dev", veth}},
			"web-b's node has `" + regexp.QuoteMeta(ip) + " dev " + veth + " lladdr 02:00:00:00:00:99 PERMANENT`", true},
	} {
		t.Run(f.name, func(t *testing.T) {
			restore := f.restore
			for _, c := range f.plant {
				inNode(t, c...)
			}
			t.Cleanup(func() {
				for _, c := range restore {
					_ = exec.Command("nsenter", append([]string{"--net=/run/netns/" + node}, c...)...).Run()
				}
			})
			modes := []string{"--node-side", "--node-side=auto", "--node-side=false"}
			if f.nodeSideOnly {
				modes = modes[:2]
			}
			for _, mode := range modes {
				r := x.netdiff(t, "-n", x.nsA, "web-a", "web-b", "-o", "json", mode)
				if r.code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s", mode, r.code, clip(r.stderr))
					continue
				}
				d := parseDiff(t, r)
				want := f.names
				if mode == "--node-side=false" {
					want = `web-b's packets leave the pod and are lost.*rerun with --node-side`
				}
				causes := d.causes()
				if len(causes) != 1 || causes[0] != 0 || d.Findings[0].Subject != "web-b" || !regexp.MustCompile(want).MatchString(d.Findings[0].Message+" "+d.Findings[0].Detail) {
					t.Errorf("%s: want one top-level cause, first, in web-b, matching %q; got %d:\n%s", mode, want, len(causes), clip(r.stdout))
					continue
				}
				t.Logf("%s first: %s (explains %d)", mode, d.Findings[0].Message, len(d.Findings[0].Explains))
			}
		})
	}
}
