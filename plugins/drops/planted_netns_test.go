//go:build linux

package drops_test

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/plugins/drops"
)

// A planted silent drop: what is done to pod-b (or to the node, for pod-b's flows), and
// what the kernel must be seen to have dropped, where.
type planted struct {
	name   string
	plant  func(w *world)
	netns  string // "pod" or "node"
	reason string
	hook   string // for netfilter verdicts
	// fact is the section of the state fact the first finding must name beside the drop,
	// where the report can hold it ("" where it cannot: the drop alone is the cause).
	fact string
	// nodeSide adds the node side of each pod (--node-side) to the reports.
	nodeSide bool
}

var plantedDrops = []planted{
	{name: "pod OUTPUT DROP (iptables)", netns: "pod", reason: "NETFILTER_DROP", hook: "output", fact: "netfilter",
		plant: func(w *world) {
			w.pods[1].Exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP")
		}},
	{name: "pod input drop of the server's replies (nft)", netns: "pod", reason: "NETFILTER_DROP", hook: "input", fact: "netfilter",
		plant: func(w *world) {
			p := w.pods[1]
			p.Exec("nft", "add", "table", "inet", "guard")
			p.Exec("nft", "add", "chain", "inet", "guard", "in", "{ type filter hook input priority 0; }")
			p.Exec("nft", "add", "rule", "inet", "guard", "in", "ip", "saddr", "10.41.9.2", "tcp", "sport", "8080", "drop")
		}},
	{name: "node FORWARD DROP of the pod (iptables), node side read", netns: "node", reason: "NETFILTER_DROP", hook: "forward", fact: "nodeside", nodeSide: true,
		plant: func(w *world) { w.node.Exec("iptables", "-A", "FORWARD", "-s", w.ips[1], "-j", "DROP") }},
	{name: "node FORWARD DROP of the pod (iptables), node side not read", netns: "node", reason: "NETFILTER_DROP", hook: "forward",
		plant: func(w *world) { w.node.Exec("iptables", "-A", "FORWARD", "-s", w.ips[1], "-j", "DROP") }},
	{name: "strict rp_filter on the node's veth, route to the pod elsewhere", netns: "node", reason: "IP_RPFILTER", fact: "nodeside", nodeSide: true,
		plant: func(w *world) {
			w.node.IP("link", "add", "nd-void", "type", "veth", "peer", "name", "nd-void-peer")
			w.node.IP("link", "set", "nd-void", "up")
			w.node.IP("route", "replace", w.ips[1]+"/32", "dev", "nd-void")
			w.node.Exec("sysctl", "-qw", "net.ipv4.conf.veth-b.rp_filter=1")
		}},
	{name: "no route back to the pod on the node", netns: "node", reason: "IP_INNOROUTES", fact: "nodeside", nodeSide: true,
		plant: func(w *world) {
			w.node.IP("route", "del", w.ips[1]+"/32", "dev", "veth-b")
			w.node.IP("route", "del", "default")
			w.node.IP("route", "add", "169.254.1.1/32", "via", "10.41.9.2")
		}},
	{name: "the pod's next hop never answers", netns: "pod", reason: "NEIGH_FAILED", fact: "neighbours",
		plant: func(w *world) {
			w.node.Exec("sysctl", "-qw", "net.ipv4.conf.veth-b.proxy_arp=0")
			w.pods[1].IP("neigh", "del", "169.254.1.1", "dev", "eth0")
		}},
	{name: "a full queue on the pod's eth0 (pfifo limit 0)", netns: "pod", reason: "QDISC_",
		plant: func(w *world) { w.pods[1].Exec("tc", "qdisc", "replace", "dev", "eth0", "root", "pfifo", "limit", "0") }},
	{name: "a full queue on the node's veth to the pod (pfifo limit 0)", netns: "node", reason: "QDISC_",
		plant: func(w *world) { w.node.Exec("tc", "qdisc", "replace", "dev", "veth-b", "root", "pfifo", "limit", "0") }},
	{name: "a BPF program (tcx) drops the pod's egress", netns: "pod", reason: "TC_EGRESS",
		plant: func(w *world) { attachTCXDrop(w.t, w.pods[1], "eth0", ebpf.AttachTCXEgress) }},
	{name: "a BPF program (tcx) on the node drops what the pod sends", netns: "node", reason: "TC_INGRESS",
		plant: func(w *world) { attachTCXDrop(w.t, w.node, "veth-b", ebpf.AttachTCXIngress) }},
}

// Each planted drop is seen by the kernel in the right namespace with the right reason,
// annotates pod-b's failing probe of the server, and the first finding is the cause that
// names that place (and, where the report holds it, the state fact of that place).
func TestPlantedDrops(t *testing.T) {
	named := 0
	var failed []string
	for _, pc := range plantedDrops {
		ok := t.Run(pc.name, func(t *testing.T) {
			w := newWorld(t)
			pc.plant(w)
			res, reps := w.pair(t, pc.nodeSide)
			s := section(t, reps[1])
			if s.Unavailable != nil {
				t.Fatalf("no watch: %+v", s.Unavailable)
			}
			var seen *drops.Drop
			for _, d := range s.Drops {
				if d.Netns == pc.netns && strings.HasPrefix(d.Reason, pc.reason) && !d.Normal() && (pc.hook == "" || d.Hook == pc.hook) {
					seen = &d
					break
				}
			}
			if seen == nil {
				t.Fatalf("pod-b's drops have no %s drop in the %s namespace: %s", pc.reason, pc.netns, dump(s.Drops))
			}
			if len(res.Findings) == 0 {
				t.Fatal("no findings")
			}
			first := res.Findings[0]
			where := "pod-b's own network namespace"
			if pc.netns == "node" {
				where = "pod-b's node"
			}
			if first.Kind != contract.Cause || first.Rule != "drops/on-flow" || first.Subject != "pod-b" ||
				!strings.Contains(first.Message+" "+first.Detail, where) || !strings.Contains(first.Message+" "+first.Detail, pc.reason) || len(first.Explains) == 0 {
				t.Errorf("first finding is not the drop in %s (%s): %s", where, pc.reason, findings(res))
			}
			hasFact := false
			for _, k := range first.Keys {
				hasFact = hasFact || pc.fact != "" && strings.HasPrefix(k, pc.fact+"/")
			}
			if pc.fact != "" && !hasFact {
				t.Errorf("the first finding names no %s fact: %v", pc.fact, first.Keys)
			}
			// The failing probe of the server carries the drop.
			probeNamed := false
			for _, f := range res.Findings {
				if slices.Contains(first.Explains, f.ID) && strings.Contains(strings.Join(f.Keys, " "), serverAddr) {
					probeNamed = true
				}
			}
			if !probeNamed {
				t.Errorf("the cause explains no probe of %s: %s", serverAddr, findings(res))
			}
			t.Logf("first finding: %s", first.Message)
		})
		if ok {
			named++
		} else {
			failed = append(failed, pc.name)
		}
	}
	line := fmt.Sprintf("planted drops named: %d/%d", named, len(plantedDrops))
	if len(failed) > 0 {
		line += " (not: " + strings.Join(failed, "; ") + ")"
	}
	t.Log(line)
	if out := os.Getenv("NETDIFF_PLANTED_DROPS_OUT"); out != "" {
		_ = os.WriteFile(out, []byte(line+"\n"), 0o644)
	}
}

func findings(res *diff.Result) string {
	var b strings.Builder
	for i, f := range res.Findings {
		if i == 8 {
			break
		}
		fmt.Fprintf(&b, "\n  %s %s %s [%s] %s: %s (explains %v; keys %v)", f.ID, f.Kind, f.Severity, f.Subject, f.Rule, f.Message, f.Explains, f.Keys)
	}
	return b.String()
}

// attachTCXDrop attaches a two-instruction program that drops every packet (TC_ACT_SHOT)
// to dev in ns, at the tcx hook given, until the test ends.
func attachTCXDrop(t testing.TB, ns *netnstest.NS, dev string, at ebpf.AttachType) {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SchedCLS, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	err = ns.Do(func() error {
		ifc, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		l, err := link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: prog, Attach: at})
		if err != nil {
			return err
		}
		t.Cleanup(func() { l.Close() })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A loss beyond the watched namespaces (the server drops pod-b's packets) is not blamed
// on the pod or its node: the probe times out with no drop on its flow in either, and the
// diagnosis says the loss is beyond the node.
func TestLossBeyondTheNode(t *testing.T) {
	w := newWorld(t)
	w.srv.Exec("iptables", "-A", "INPUT", "-s", w.ips[1], "-j", "DROP")
	res, reps := w.pair(t, false)
	for _, d := range section(t, reps[1]).Drops {
		if !d.Normal() {
			t.Errorf("pod-b's kernel or its node's dropped: %s", dump(d))
		}
	}
	first := res.Findings[0]
	if first.Subject != "pod-b" || !strings.Contains(first.Message, "beyond its node") || len(first.Explains) == 0 {
		t.Errorf("first finding does not put the loss beyond the node: %s", findings(res))
	}
	t.Logf("first finding: %s", first.Message)
}
