package netstate

import "strings"

// Interface is one link and its addresses.
type Interface struct {
	Name      string   `json:"name"`
	Index     int      `json:"index"`
	Type      string   `json:"type"`
	MTU       int      `json:"mtu"`
	TxQLen    int      `json:"txqueuelen"`
	Flags     []string `json:"flags"`
	OperState string   `json:"operState"`
	MAC       string   `json:"mac,omitempty"`
	Alias     string   `json:"alias,omitempty"`
	AltNames  []string `json:"altNames,omitempty"`
	Master    string   `json:"master,omitempty"`
	// PeerIndex is the veth peer's ifindex in its own namespace; shown, never compared.
	PeerIndex int    `json:"peerIndex,omitempty"`
	Addrs     []Addr `json:"addrs"`
}

// Addr is one address of an interface.
type Addr struct {
	// CIDR is the address with its prefix length, e.g. "10.1.0.2/24" or "fd00::2/64".
	CIDR   string   `json:"cidr"`
	Family string   `json:"family"` // "ipv4" or "ipv6"
	Scope  string   `json:"scope"`
	Flags  []string `json:"flags,omitempty"`
	Peer   string   `json:"peer,omitempty"`
}

// IP returns the address without its prefix length.
func (a Addr) IP() string {
	ip, _, _ := strings.Cut(a.CIDR, "/")
	return ip
}
