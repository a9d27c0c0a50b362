package diff

import "testing"

// A node's values (gateway, the node's pod range) become placeholders only between
// subjects on different nodes: on one node, or when a node is unknown, a different
// gateway stays a difference.
func TestNodeLocalValuesNormaliseOnlyAcrossNodes(t *testing.T) {
	subjects := []string{"a", "b"}
	id := func(node, gw, net, nodeIP string) Identity {
		return Identity{Node: node, Gateways: []string{gw}, NodeNets: []string{net}, NodeIPs: []string{nodeIP}, IPs: []string{"10.244.9.9"}}
	}
	in := []string{"default via 10.244.0.1 dev eth0", "default via 10.244.1.1 dev eth0"}
	nets := []string{"10.244.0.0/24 via 10.244.0.1 | broadcast 10.244.0.255 | src 10.99.0.0", "10.244.1.0/24 via 10.244.1.1 | broadcast 10.244.1.255 | src 10.99.0.1"}
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
			ids := []Identity{id(c.nodeA, "10.244.0.1", "10.244.0.0/24", "10.99.0.0"), id(c.nodeB, "10.244.1.1", "10.244.1.0/24", "10.99.0.1")}
			for _, ss := range [][]string{in, nets} {
				a := NewNormaliser(subjects, ids, 0).Normalise(ss[0])
				b := NewNormaliser(subjects, ids, 1).Normalise(ss[1])
				if (a == b) != c.wantSame {
					t.Errorf("%q -> %q and %q -> %q: same = %v, want %v", ss[0], a, ss[1], b, a == b, c.wantSame)
				}
			}
		})
	}
	ids := []Identity{id("n1", "10.244.0.1", "10.244.0.0/24", "10.99.0.0"), id("n2", "10.244.1.1", "10.244.1.0/24", "10.99.0.1")}
	n := NewNormaliser(subjects, ids, 0)
	for s, want := range map[string]string{
		"10.244.0.0/24 via 10.244.0.1": "<node-net>/24 via <gateway>",
		"broadcast 10.244.0.255":       "broadcast <node-bcast>",
		"icmp://10.244.1.1/ipv4":       "icmp://<peer-gateway>/ipv4",
		"10.244.0.12":                  "10.244.0.12", // another pod on a's node: not a's
		"dev <pod-veth> src 10.99.0.0": "dev <pod-veth> src <node-ip>",
		"10.99.0.1":                    "<peer-node-ip>",
	} {
		if got := n.Normalise(s); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", s, got, want)
		}
	}
}
