package contract

import (
	"net/netip"
	"strings"
)

// Identity is what makes one subject itself: values that differ between two healthy
// replicas by nature and are replaced by placeholders before comparing.
type Identity struct {
	IPs      []string // addresses, with or without a /prefix
	MACs     []string
	Hostname string
	Names    []string // pod name, interface alt-names, veth peer names, ...
	// Node is the node the subject runs on ("" when unknown). Gateways and NodeNets
	// (prefixes) are its node's values (probe.SelfValues): replaced only when the subjects
	// do not all run on one known node, and the subjects of each node agree on them.
	Node     string
	Gateways []string
	NodeNets []string
}

// Placeholders. A subject's own values become the self forms; another subject's values
// become the peer forms, which carry the peer's name when more than two subjects are
// compared so that "a reaches b" and "a reaches c" stay different facts.
const (
	SelfIP       = "<self>"
	SelfMAC      = "<self-mac>"
	SelfHostname = "<hostname>"
	SelfName     = "<self-name>"
	PeerIP       = "<peer>"
	PeerMAC      = "<peer-mac>"
	PeerHostname = "<peer-hostname>"
	PeerName     = "<peer-name>"
	// A node's values, for subjects on different nodes: the default gateway, and the
	// network and broadcast addresses of the node's pod range.
	SelfGateway   = "<gateway>"
	PeerGateway   = "<peer-gateway>"
	SelfNodeNet   = "<node-net>"
	PeerNodeNet   = "<peer-node-net>"
	SelfNodeBcast = "<node-bcast>"
	PeerNodeBcast = "<peer-node-bcast>"
)

// PeerPlaceholder gives "<peer>" for two subjects and "<peer:NAME>" for more.
func PeerPlaceholder(form string, subjects []string, j int) string {
	if len(subjects) <= 2 {
		return form
	}
	return form[:len(form)-1] + ":" + subjects[j] + ">"
}

// ParseIdentityIP reads an identity address, with or without a /prefix.
func ParseIdentityIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}
