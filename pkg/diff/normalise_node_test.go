package diff

import (
	"slices"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// A node's values (gateway, the node's pod range) become placeholders only between
// subjects on different nodes: on one node, or when a node is unknown, a different
// gateway stays a difference.
func TestNodeLocalValuesNormaliseOnlyAcrossNodes(t *testing.T) {
	subjects := []string{"a", "b"}
	id := func(node, gw, net string) Identity {
		return Identity{Node: node, Gateways: []string{gw}, NodeNets: []string{net}, IPs: []string{"10.244.9.9"}}
	}
	in := []string{"default via 10.244.0.1 dev eth0", "default via 10.244.1.1 dev eth0"}
	nets := []string{"10.244.0.0/24 via 10.244.0.1 | broadcast 10.244.0.255", "10.244.1.0/24 via 10.244.1.1 | broadcast 10.244.1.255"}
	for _, c := range []struct {
		name         string
		nodeA, nodeB string
		wantSame     bool
	}{
		{"different nodes", "n1", "n2", true},
		{"one node", "n1", "n1", false},
		{"node unknown", "", "n2", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ids := []Identity{id(c.nodeA, "10.244.0.1", "10.244.0.0/24"), id(c.nodeB, "10.244.1.1", "10.244.1.0/24")}
			for _, ss := range [][]string{in, nets} {
				a := NewNormaliser(subjects, ids, 0).Normalise(ss[0])
				b := NewNormaliser(subjects, ids, 1).Normalise(ss[1])
				if (a == b) != c.wantSame {
					t.Errorf("%q -> %q and %q -> %q: same = %v, want %v", ss[0], a, ss[1], b, a == b, c.wantSame)
				}
			}
		})
	}
	ids := []Identity{id("n1", "10.244.0.1", "10.244.0.0/24"), id("n2", "10.244.1.1", "10.244.1.0/24")}
	n := NewNormaliser(subjects, ids, 0)
	for s, want := range map[string]string{
		"10.244.0.0/24 via 10.244.0.1": "<node-net>/24 via <gateway>",
		"broadcast 10.244.0.255":       "broadcast <node-bcast>",
		"icmp://10.244.1.1/ipv4":       "icmp://<peer-gateway>/ipv4",
		"10.244.0.12":                  "10.244.0.12",           // another pod on a's node: not a's
		"tcp://10.99.0.2:30080":        "tcp://10.99.0.2:30080", // a node's address is a target like any other
	} {
		if got := n.Normalise(s); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", s, got, want)
		}
	}
}

// Three subjects on two nodes: two pods of one node with different gateways keep them
// (a difference on that node), while the third's node values still line up.
func TestNodeLocalValuesNeedAgreementOnTheNode(t *testing.T) {
	subjects := []string{"a", "b", "c"}
	ids := []Identity{
		{Node: "n1", Gateways: []string{"10.244.0.1"}, NodeNets: []string{"10.244.0.0/24"}},
		{Node: "n1", Gateways: []string{"10.244.0.254"}, NodeNets: []string{"10.244.0.0/24"}},
		{Node: "n2", Gateways: []string{"10.244.1.1"}, NodeNets: []string{"10.244.1.0/24"}},
	}
	a := NewNormaliser(subjects, ids, 0).Normalise("default via 10.244.0.1")
	b := NewNormaliser(subjects, ids, 1).Normalise("default via 10.244.0.254")
	c := NewNormaliser(subjects, ids, 2).Normalise("default via 10.244.1.1")
	if a == b {
		t.Errorf("two pods of one node with different gateways line up: %q, %q", a, b)
	}
	if c != "default via <gateway>" {
		t.Errorf("the other node's gateway: %q", c)
	}
}

// Only the subnet holding the pod's own IP (the API's podIPs) is its node's range; a
// second interface's (Multus) is not, and without the API's IPs none is.
func TestOwnNetsHoldThePodIP(t *testing.T) {
	nets := []string{"10.244.1.0/24", "192.168.50.0/24"}
	if got := ownNets(nets, &report.Subject{IPs: []string{"10.244.1.7"}}); !slices.Equal(got, []string{"10.244.1.0/24"}) {
		t.Errorf("ownNets = %v", got)
	}
	if got := ownNets(nets, nil); got != nil {
		t.Errorf("ownNets without a subject = %v", got)
	}
}

// A pod without a default route (the case study's) disagrees with nobody: its node's
// healthy pod still lines up with the other node's.
func TestNodeLocalValuesIgnoreAPodWithout(t *testing.T) {
	subjects := []string{"x1", "odd1", "x2"}
	ids := []Identity{
		{Node: "n1", Gateways: []string{"10.244.0.1"}},
		{Node: "n1"},
		{Node: "n2", Gateways: []string{"10.244.1.1"}},
	}
	a := NewNormaliser(subjects, ids, 0).Normalise("default via 10.244.0.1")
	c := NewNormaliser(subjects, ids, 2).Normalise("default via 10.244.1.1")
	if a != c || a != "default via <gateway>" {
		t.Errorf("the healthy pods of two nodes: %q, %q", a, c)
	}
}
