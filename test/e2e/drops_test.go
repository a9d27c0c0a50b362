//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dropFault is a silent drop planted for drop-b's connects to the server, in drop-b's
// network namespace or in its node's, and removed again by the test's cleanup.
type dropFault struct {
	name   string
	netns  string // "pod" or "node": where the kernel must be seen to drop
	reason string
	// fact is the section of the state fact the first finding must name beside the drop
	// when the node side is read too ("" where no section holds that state).
	fact  string
	plant func(t *testing.T, f *dropWorld) (undo [][]string)
}

// dropWorld is the pods' addresses and the namespaces to plant faults in: the node's is
// /run/netns/<node name> on this harness, the pod's the CNI's netns that holds its IP.
type dropWorld struct {
	ns, node, podNetns, podIP, srvIP, veth string
}

func innetns(netns string, args ...string) []string {
	return append([]string{"nsenter", "--net=/run/netns/" + netns, "--"}, args...)
}

func run(t *testing.T, argv []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

// The node's faults first: iptables-nft leaves the pod's filter table behind when its
// rule is deleted, so the pod's fault removes the table too if it made it.
var dropFaults = []dropFault{
	{name: "iptables FORWARD DROP of the pod on its node", netns: "node", reason: "NETFILTER_DROP", fact: "nodeside",
		plant: func(t *testing.T, w *dropWorld) [][]string {
			rule := []string{"FORWARD", "-s", w.podIP, "-d", w.srvIP, "-p", "tcp", "--dport", "8080", "-j", "DROP"}
			run(t, innetns(w.node, append([]string{"iptables", "-I"}, rule...)...))
			return [][]string{innetns(w.node, append([]string{"iptables", "-D"}, rule...)...)}
		}},
	{name: "raw PREROUTING DROP of the server's replies to the pod on its node", netns: "node", reason: "NETFILTER_DROP", fact: "nodeside",
		plant: func(t *testing.T, w *dropWorld) [][]string {
			rule := []string{"PREROUTING", "-t", "raw", "-s", w.srvIP, "-d", w.podIP, "-p", "tcp", "--sport", "8080", "-j", "DROP"}
			run(t, innetns(w.node, append([]string{"iptables", "-I"}, rule...)...))
			return [][]string{innetns(w.node, append([]string{"iptables", "-D"}, rule...)...)}
		}},
	// The route back through a policy rule and a table of its own (Felix repairs a
	// workload route replaced in the main table within seconds, not another table). The
	// kernel drops at two places for it: Calico's reverse-path rule in raw PREROUTING
	// drops the pod's own packets (NETFILTER_DROP), and ip_error frees what is routed to
	// the pod (NOT_SPECIFIED); one cause, which names the route ("blackhole").
	{name: "blackhole route back to the pod on its node", netns: "node", reason: "blackhole", fact: "nodeside",
		plant: func(t *testing.T, w *dropWorld) [][]string {
			run(t, innetns(w.node, "ip", "route", "add", "blackhole", w.podIP+"/32", "table", "251"))
			run(t, innetns(w.node, "ip", "rule", "add", "to", w.podIP+"/32", "lookup", "251", "pref", "91"))
			return [][]string{innetns(w.node, "ip", "rule", "del", "to", w.podIP+"/32", "lookup", "251", "pref", "91"),
				innetns(w.node, "ip", "route", "del", "blackhole", w.podIP+"/32", "table", "251")}
		}},
	{name: "iptables OUTPUT DROP in the pod", netns: "pod", reason: "NETFILTER_DROP", fact: "netfilter",
		plant: func(t *testing.T, w *dropWorld) [][]string {
			had := exec.Command("nsenter", "--net=/run/netns/"+w.podNetns, "--", "nft", "list", "table", "ip", "filter").Run() == nil
			rule := []string{"OUTPUT", "-p", "tcp", "-d", w.srvIP, "--dport", "8080", "-j", "DROP"}
			run(t, innetns(w.podNetns, append([]string{"iptables", "-I"}, rule...)...))
			undo := [][]string{innetns(w.podNetns, append([]string{"iptables", "-D"}, rule...)...)}
			if !had {
				undo = append(undo, innetns(w.podNetns, "nft", "delete", "table", "ip", "filter"))
			}
			return undo
		}},
}

// Faults planted on the cluster for one of two twin pods are each named by the kernel's
// drop, in the right namespace, as the first finding: with --via node (the node pod
// watches the pod's namespace and the node's during the window), and with --via node
// --node-side (the node's state is read too, so the fact of that place is named).
func TestDropsNamed(t *testing.T) {
	x := need(t)
	if x.node2 == "" {
		t.Skip("needs two nodes: the server on the other")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ns, err := x.namespace(ctx, "netdiff-e2e-drops", map[string]string{"pod-security.kubernetes.io/enforce": "privileged"})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.apply(ctx, ns, "drops.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := x.waitReady(ctx, ns, "drop-a", "drop-b", "drop-srv"); err != nil {
		t.Fatal(err)
	}
	ip := func(pod string) string {
		out, err := x.kubectlOut(ctx, "get", "pod", "-n", ns, pod, "-o", "jsonpath={.status.podIP}")
		if err != nil || out == "" {
			t.Fatalf("%s: no IP: %v %s", pod, err, out)
		}
		return out
	}
	w := &dropWorld{ns: ns, node: x.node, podIP: ip("drop-b"), srvIP: ip("drop-srv")}
	w.podNetns = podNetns(t, w.podIP)
	route := run(t, innetns(w.node, "ip", "route", "get", w.podIP))
	if f := strings.Fields(route); len(f) > 2 && f[1] == "dev" {
		w.veth = f[2]
	} else if i := strings.Index(route, " dev "); i >= 0 {
		w.veth = strings.Fields(route[i+5:])[0]
	}
	if w.veth == "" {
		t.Fatalf("no veth for %s on %s: %s", w.podIP, w.node, route)
	}
	target := w.srvIP + ":8080"

	// Twins first: no drop differs, no drop finding.
	for _, mode := range [][]string{{"--via", "node"}, {"--node-side"}} {
		d := parseDiff(t, x.netdiff(t, append([]string{"-n", ns, "drop-a", "drop-b", "--target", target, "-o", "json"}, mode...)...))
		for _, f := range d.Findings {
			if strings.HasPrefix(f.Rule, "drops/") {
				t.Errorf("twins %v: %s: %s", mode, f.Rule, f.Message)
			}
		}
	}

	named, total := 0, 0
	for _, fc := range dropFaults {
		modes := [][]string{{"--via", "node"}, {"--via", "node", "--node-side"}}
		if fc.netns == "node" {
			// From the ephemeral container under the default profile: the pod's own
			// namespace is not watched, the node pod's watch is open during its probes.
			modes = append(modes, []string{"--node-side"})
		}
		for _, mode := range modes {
			nodeSide := slices.Contains(mode, "--node-side")
			name := fc.name + ", " + strings.Join(mode, " ")
			args := append([]string{"-n", ns, "drop-a", "drop-b", "--target", target, "-o", "json"}, mode...)
			total++
			ok := t.Run(name, func(t *testing.T) {
				defer undoAll(t, fc.plant(t, w))
				r := x.netdiff(t, args...)
				d := parseDiff(t, r)
				if len(d.Findings) == 0 {
					t.Fatalf("no findings\n%s", clip(r.stdout))
				}
				first := d.Findings[0]
				where := "drop-b's own network namespace"
				if fc.netns == "node" {
					where = "drop-b's node"
				}
				if first.Rule != "drops/on-flow" || first.Kind != "cause" || !strings.Contains(first.Message+" "+first.Detail, where) || !strings.Contains(first.Message+" "+first.Detail, fc.reason) || len(first.Explains) == 0 {
					t.Errorf("first finding is not the drop %s in %s:\n%s", fc.reason, where, topFindings(d))
				}
				if nodeSide && fc.fact != "" && !strings.Contains(strings.Join(first.Keys, " "), fc.fact+"/") {
					t.Errorf("the first finding names no %s fact: %v", fc.fact, first.Keys)
				}
				t.Logf("first finding: %s", first.Message)
			})
			if ok {
				named++
			}
		}
	}
	// The ephemeral container under --profile bpf watches the pod's own namespace.
	for _, fc := range dropFaults {
		if fc.netns != "pod" {
			continue
		}
		total++
		if t.Run(fc.name+", --profile bpf", func(t *testing.T) {
			defer undoAll(t, fc.plant(t, w))
			r := x.netdiff(t, "-n", ns, "drop-a", "drop-b", "--profile", "bpf", "--target", target, "-o", "json")
			d := parseDiff(t, r)
			if len(d.Findings) == 0 {
				t.Fatalf("no findings\n%s", clip(r.stdout))
			}
			first := d.Findings[0]
			if first.Rule != "drops/on-flow" || !strings.Contains(first.Message+" "+first.Detail, "drop-b's own network namespace") || !strings.Contains(first.Message+" "+first.Detail, fc.reason) {
				t.Errorf("first finding is not the drop %s in drop-b's namespace:\n%s", fc.reason, topFindings(d))
			}
			t.Logf("first finding: %s", first.Message)
		}) {
			named++
		}
	}
	line := fmt.Sprintf("e2e drops named: %d/%d", named, total)
	t.Log(line)
	if out := os.Getenv("NETDIFF_E2E_OUT"); out != "" {
		_ = os.WriteFile(filepath.Join(out, "drops.txt"), []byte(line+"\n"), 0o644)
	}
}

// undoAll removes a planted fault, its commands in order.
func undoAll(t *testing.T, undo [][]string) {
	for _, u := range undo {
		run(t, u)
	}
}

// podNetns finds the network namespace (under /run/netns, as the CNI made it) that holds ip.
func podNetns(t *testing.T, ip string) string {
	t.Helper()
	names, _ := filepath.Glob("/run/netns/cni-*")
	for _, n := range names {
		out, err := exec.Command("ip", "-n", filepath.Base(n), "-4", "-o", "addr", "show").Output()
		if err == nil && strings.Contains(string(out), " "+ip+"/") {
			return filepath.Base(n)
		}
	}
	t.Fatalf("no network namespace under /run/netns holds %s", ip)
	return ""
}

func topFindings(d diffJSON) string {
	var b strings.Builder
	for i, f := range d.Findings {
		if i == 6 {
			break
		}
		fmt.Fprintf(&b, "  %s %s %s %s: %s\n", f.ID, f.Kind, f.Severity, f.Rule, f.Message)
	}
	return b.String()
}
