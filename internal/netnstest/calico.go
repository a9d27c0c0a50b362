package netnstest

import (
	"strconv"
	"strings"
	"testing"
)

// CalicoPair is a node with two pods wired as Calico wires them (each pod a /32 behind
// its own veth cali-a or cali-b, default via 169.254.1.1 answered by the node's proxy
// ARP, the node routing each pod's address to its veth) and a remote beyond the node's
// uplink, 10.88.0.1, the node's default route: as on a real node, proxy ARP answers for
// an address the node routes out of another interface.
type CalicoPair struct {
	Node, A, B, Remote *NS
	IPA, IPB           string // 10.77.0.5, 10.77.0.6
	IfA, IfB           int    // the node's end of each pod's veth
}

// NewCalicoPair builds it, its namespaces labelled from label; the remote listens on
// 10.88.0.1 at each of ports, each pod on its own address at 8080.
func NewCalicoPair(t testing.TB, label string, ports ...string) *CalicoPair {
	RequireRoot(t)
	n := &CalicoPair{Node: New(t, label+"node"), A: New(t, label+"pa"), B: New(t, label+"pb"),
		Remote: New(t, label+"rem"), IPA: "10.77.0.5", IPB: "10.77.0.6"}
	n.Node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
	Veth(t, n.Node, "10.88.0.254/24", n.Remote, "10.88.0.1/24")
	n.Node.IP("link", "set", "veth0", "name", "uplink")
	n.Remote.IP("route", "add", "default", "via", "10.88.0.254")
	n.Node.IP("route", "add", "default", "via", "10.88.0.1")
	for _, p := range []struct {
		pod      *NS
		ip, host string
	}{{n.A, n.IPA, "cali-a"}, {n.B, n.IPB, "cali-b"}} {
		Veth(t, p.pod, p.ip+"/32", n.Node, "")
		n.Node.IP("link", "set", "veth0", "name", p.host)
		n.Node.Exec("sysctl", "-qw", "net.ipv4.conf."+p.host+".proxy_arp=1", "net.ipv4.neigh."+p.host+".proxy_delay=0")
		n.Node.IP("route", "add", p.ip+"/32", "dev", p.host)
		p.pod.IP("link", "set", "veth0", "down")
		p.pod.IP("link", "set", "veth0", "name", "eth0")
		p.pod.IP("link", "set", "eth0", "up")
		p.pod.IP("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
		p.pod.IP("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
		p.pod.WriteEtc("resolv.conf", "nameserver 10.88.0.1\n")
	}
	for _, port := range ports {
		n.Remote.ListenTCP("10.88.0.1:" + port)
	}
	n.A.ListenTCP(n.IPA + ":8080")
	n.B.ListenTCP(n.IPB + ":8080")
	Settle(t, n.Node, n.A, n.B, n.Remote)
	n.IfA, n.IfB = Ifindex(t, n.Node, "cali-a"), Ifindex(t, n.Node, "cali-b")
	return n
}

// Ifindex is the index of ns's device dev.
func Ifindex(t testing.TB, ns *NS, dev string) int {
	t.Helper()
	out := ns.Exec("cat", "/sys/class/net/"+dev+"/ifindex")
	i, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("ifindex of %s: %q", dev, out)
	}
	return i
}
