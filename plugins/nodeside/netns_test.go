package nodeside_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
	"github.com/netdiff/kubectl-netdiff/plugins/nodeside"
)

// nodeWithTwoPods builds a "node" namespace with a veth into each of two "pod"
// namespaces, named like a CNI would (vetha, vethb on the node, eth0 in the pods):
//
//	pod-a eth0 10.20.1.2/24 — node vetha 10.20.1.1/24, plus a host route 10.20.1.2 dev vetha
//	pod-b eth0 10.20.2.2/24 — node vethb (no address, no route: the node cannot reach it)
func nodeWithTwoPods(t *testing.T) (node, pa, pb *netnstest.NS) {
	node, pa, pb = netnstest.New(t, "nsnode"), netnstest.New(t, "nspa"), netnstest.New(t, "nspb")
	podVeth(t, node, "vetha", "", pa, "10.20.1.2/24")
	node.IP("addr", "add", "10.20.1.1/24", "dev", "vetha")
	podVeth(t, node, "vethb", "", pb, "10.20.2.2/24")
	node.IP("route", "add", "10.20.1.2/32", "dev", "vetha")
	return node, pa, pb
}

// podVeth links pod to node: eth0 in the pod, hostName on the node.
func podVeth(t *testing.T, node *netnstest.NS, hostName, hostAddr string, pod *netnstest.NS, podAddr string) {
	netnstest.Veth(t, pod, podAddr, node, hostAddr)
	node.IP("link", "set", "veth0", "name", hostName)
	pod.IP("link", "set", "veth0", "down")
	pod.IP("link", "set", "veth0", "name", "eth0")
	pod.IP("link", "set", "eth0", "up")
}

// peerIndex is what kubectl netdiff reads from the pod's own report: its eth0's peer index.
func peerIndex(t *testing.T, pod *netnstest.NS) int {
	t.Helper()
	var s interfaces.Section
	netnstest.Section(t, pod.Collect("--quiet", "--only", "interfaces"), "interfaces", &s)
	for _, in := range s.Interfaces {
		if in.Name == "eth0" && in.PeerIndex > 0 {
			return in.PeerIndex
		}
	}
	t.Fatalf("no eth0 with a peer index in %s: %+v", pod.Name, s.Interfaces)
	return 0
}

func nodeSide(t *testing.T, node *netnstest.NS, ip string, ifindex int) (*report.Report, *nodeside.Section) {
	t.Helper()
	rep := node.Collect("--quiet", "--only", "nodeside", "--pod-ip", ip, "--pod-ifindex", strconv.Itoa(ifindex))
	var s nodeside.Section
	netnstest.Section(t, rep, "nodeside", &s)
	return rep, &s
}

func TestNodeSidePlanted(t *testing.T) {
	node, pa, pb := nodeWithTwoPods(t)
	node.Exec("sysctl", "-qw", "net.ipv4.conf.vetha.proxy_arp=1", "net.ipv4.conf.vethb.proxy_arp=0",
		"net.ipv4.conf.vetha.rp_filter=0", "net.ipv4.conf.vethb.rp_filter=1")
	// iptables-nft's way of naming a pod (payload compare), nft's (a set lookup), an
	// interface match, and a conntrack user so that the node tracks connections.
	node.Exec("iptables", "-A", "FORWARD", "-d", "10.20.2.2/32", "-j", "DROP")
	for _, cmd := range [][]string{
		{"add", "table", "ip", "nd"},
		{"add", "chain", "ip", "nd", "fw", "{ type filter hook forward priority 10; }"},
		{"add", "set", "ip", "nd", "blocked", "{ type ipv4_addr; }"},
		{"add", "element", "ip", "nd", "blocked", "{ 10.20.2.2 }"},
		{"add", "rule", "ip", "nd", "fw", "ip", "daddr", "@blocked", "reject"},
		{"add", "rule", "ip", "nd", "fw", "oifname", "vetha", "accept"},
		{"add", "rule", "ip", "nd", "fw", "oifname", "veth*", "counter"},
		{"add", "rule", "ip", "nd", "fw", "ct", "state", "established", "accept"},
	} {
		node.Exec(append([]string{"nft"}, cmd...)...)
	}
	// One tracked connection from the node to pod-a.
	pa.ListenTCP("10.20.1.2:8080")
	if err := node.Do(func() error {
		c, err := net.DialTimeout("tcp", "10.20.1.2:8080", 2*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("connect from the node to pod-a: %v", err)
	}

	ia, ib := peerIndex(t, pa), peerIndex(t, pb)
	ra, sa := nodeSide(t, node, "10.20.1.2", ia)
	rb, sb := nodeSide(t, node, "10.20.2.2", ib)

	if sa.Veth == nil || sa.Veth.Name != "vetha" || sa.Veth.Index != ia || sa.Veth.Type != "veth" {
		t.Fatalf("pod-a veth: %+v %+v", sa.Veth, sa.VethError)
	}
	if sb.Veth == nil || sb.Veth.Name != "vethb" {
		t.Fatalf("pod-b veth: %+v %+v", sb.Veth, sb.VethError)
	}
	if got := sa.Sysctls["net/ipv4/conf/vetha/proxy_arp"]; got != "1" {
		t.Errorf("pod-a proxy_arp = %q", got)
	}
	if sa.RouteGet[0].Route == nil || sa.RouteGet[0].Route.Dev != "vetha" {
		t.Errorf("pod-a route get: %+v", sa.RouteGet)
	}
	if sb.RouteGet[0].Route != nil || sb.RouteGet[0].Error == nil || sb.RouteGet[0].Error.Errno != "ENETUNREACH" {
		t.Errorf("pod-b route get: want ENETUNREACH, got %+v %+v", sb.RouteGet[0].Route, sb.RouteGet[0].Error)
	}
	if sa.Netfilter.Error != nil || sb.Netfilter.Error != nil {
		t.Fatalf("nft not readable: %v %v", sa.Netfilter.Error, sb.Netfilter.Error)
	}
	for _, r := range append(sa.Netfilter.Rules, sb.Netfilter.Rules...) {
		t.Logf("%s/%s: %s", r.Table, r.Chain, r.Words)
	}
	if got := ruleList(sa.Netfilter); got != "ip/nd/fw accept veth" {
		t.Errorf("pod-a rules: %q", got)
	}
	if got := ruleList(sb.Netfilter); got != "ip/filter/FORWARD drop ip, ip/nd/fw reject set:blocked" {
		t.Errorf("pod-b rules: %q", got)
	}
	if sa.Conntrack.Error != nil || sa.Conntrack.Count < 1 || !strings.Contains(strings.Join(sa.Conntrack.Entries, "\n"), "dport=8080") {
		t.Errorf("pod-a conntrack: %+v", sa.Conntrack)
	}
	if sb.Conntrack.Count != 0 {
		t.Errorf("pod-b conntrack: %+v", sb.Conntrack)
	}

	// Facts name neither the pod's IP nor its veth.
	for _, rep := range []*report.Report{ra, rb} {
		for k, v := range plugintest.Facts(t, nodeside.Name, rep) {
			if strings.Contains(k+v, "10.20.1.2") || strings.Contains(k+v, "10.20.2.2") || strings.Contains(k, "vetha") || strings.Contains(k, "vethb") {
				t.Errorf("fact not normalised: %s = %s", k, v)
			}
		}
	}

	got := plugintest.EngineFindings(t, "nodeside", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb})
	for _, rule := range []string{"nodeside/proxy-arp", "nodeside/rp-filter", "nodeside/route", "nodeside/netfilter"} {
		if got[rule] == 0 {
			t.Errorf("rule %s did not fire; fired: %v", rule, got)
		}
	}
	if got["nodeside/veth"] != 0 || got["nodeside/conntrack-pressure"] != 0 {
		t.Errorf("veth or conntrack findings between equal veths and an idle table: %v", got)
	}
	// The node's rules read as typed (issue 31), as the netfilter section words a pod's:
	// iptables' words for iptables-nft's rule, nft's for the native one.
	fb := plugintest.Facts(t, nodeside.Name, rb)
	for k, want := range map[string]string{
		"netfilter/ip/filter/FORWARD": "iptables -A FORWARD -d <self> -j DROP",
		"netfilter/ip/nd/fw":          "nft add rule ip nd fw ip daddr @blocked reject with icmp code 3",
	} {
		if fb[k] != want {
			t.Errorf("pod-b's %s = %q, want %q", k, fb[k], want)
		}
	}
	said := ""
	for _, f := range plugintest.Findings(t, "nodeside", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		t.Logf("%s %d: %s", f.Rule, f.Severity, f.Message)
		said += f.Message + "\n"
		if strings.Contains(f.Message, "ip/filter/FORWARD") {
			plugintest.GoldenHeadline(t, "node-iptables-forward-drop", f)
		}
	}
	for _, want := range []string{
		"pod-b's node drops its packets in ip/filter/FORWARD: `iptables -A FORWARD -d 10.20.2.2 -j DROP` (pod-a has no such rule)",
		"pod-b's node rejects its packets in ip/nd/fw: `nft add rule ip nd fw ip daddr @blocked reject with icmp code 3`",
	} {
		if !strings.Contains(said, want) {
			t.Errorf("no finding says %q:\n%s", want, said)
		}
	}
}

func ruleList(n *nodeside.Netfilter) string {
	var out []string
	for _, r := range n.Rules {
		out = append(out, fmt.Sprintf("%s/%s %s %s", r.Table, r.Chain, strings.ToLower(r.Action), strings.Join(r.Mentions, "+")))
	}
	return strings.Join(out, ", ")
}

// Two pods wired alike on one node give no findings. The wiring is CNI ptp's (the local
// cluster's, close to Calico's): every host veth holds the gateway 10.21.0.1/32 and each
// pod has a host route of its own.
func TestNodeSideTwins(t *testing.T) {
	node, pa, pb := netnstest.New(t, "twnode"), netnstest.New(t, "twpa"), netnstest.New(t, "twpb")
	podVeth(t, node, "vetha", "10.21.0.1/32", pa, "10.21.0.2/24")
	podVeth(t, node, "vethb", "10.21.0.1/32", pb, "10.21.0.3/24")
	node.IP("route", "add", "10.21.0.2/32", "dev", "vetha", "scope", "host")
	node.IP("route", "add", "10.21.0.3/32", "dev", "vethb", "scope", "host")
	ra, _ := nodeSide(t, node, "10.21.0.2", peerIndex(t, pa))
	rb, _ := nodeSide(t, node, "10.21.0.3", peerIndex(t, pb))
	for _, f := range plugintest.Findings(t, "nodeside", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		t.Errorf("finding between twins: %+v", f)
	}
	if c := plugintest.Compare(t, "nodeside", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}); len(c.Rows) < 10 {
		t.Errorf("only %d rows: %+v", len(c.Rows), c.Rows)
	} else {
		for _, r := range c.Rows {
			if !r.Equal && r.Kind == 0 {
				t.Errorf("twins differ in %s: %v", r.Key, r.Values)
			}
		}
	}
}

// A normal collect has no nodeside section and no problem for it.
func TestNodeSideNotAsked(t *testing.T) {
	ns := netnstest.New(t, "nsplain")
	rep := ns.Collect("--quiet", "--only", "nodeside", "--only", "interfaces")
	if _, ok := rep.Sections["nodeside"]; ok {
		t.Errorf("nodeside section without --pod-ip: %s", rep.Sections["nodeside"])
	}
	if _, ok := rep.Sections["interfaces"]; !ok {
		t.Errorf("interfaces missing with --only interfaces")
	}
	if len(rep.Problems) != 0 {
		t.Errorf("problems: %+v", rep.Problems)
	}
}
