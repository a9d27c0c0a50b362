package interfaces

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return n
}

func sample(t *testing.T) *Section {
	mac, _ := net.ParseMAC("0a:58:0a:01:00:02")
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo", MTU: 65536, TxQLen: 1000, RawFlags: unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_LOWER_UP, OperState: netlink.OperUnknown}}
	eth0 := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: 3, Name: "eth0", MTU: 1450, TxQLen: 1000, HardwareAddr: mac, ParentIndex: 17, MasterIndex: 4, AltNames: []string{"cni-1234"},
		RawFlags: unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_MULTICAST | unix.IFF_LOWER_UP, OperState: netlink.OperUp}}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Index: 4, Name: "br0", MTU: 1500, RawFlags: unix.IFF_BROADCAST, OperState: netlink.OperDown}}
	addrs := []netlink.Addr{
		{IPNet: mustCIDR(t, "127.0.0.1/8"), LinkIndex: 1, Scope: unix.RT_SCOPE_HOST},
		{IPNet: mustCIDR(t, "10.1.0.2/24"), LinkIndex: 3, Scope: unix.RT_SCOPE_UNIVERSE},
		{IPNet: mustCIDR(t, "fd00::2/64"), LinkIndex: 3, Scope: unix.RT_SCOPE_UNIVERSE, Flags: unix.IFA_F_TENTATIVE | unix.IFA_F_PERMANENT},
		{IPNet: mustCIDR(t, "fe80::858:aff:fe01:2/64"), LinkIndex: 3, Scope: unix.RT_SCOPE_LINK, Flags: unix.IFA_F_DADFAILED},
	}
	return Convert([]netlink.Link{eth0, lo, br}, addrs)
}

func TestConvert(t *testing.T) {
	s := sample(t)
	var names []string
	for _, in := range s.Interfaces {
		names = append(names, in.Name)
	}
	if want := []string{"br0", "eth0", "lo"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("interfaces sorted = %v, want %v", names, want)
	}
	eth0 := s.Interfaces[1]
	tests := []struct{ field, got, want string }{
		{"type", eth0.Type, "veth"},
		{"loopback type", s.Interfaces[2].Type, "loopback"},
		{"bridge type", s.Interfaces[0].Type, "bridge"},
		{"flags", strings.Join(eth0.Flags, ","), "up,broadcast,multicast,lower_up"},
		{"state", eth0.OperState, "up"},
		{"mac", eth0.MAC, "0a:58:0a:01:00:02"},
		{"master", eth0.Master, "br0"},
		{"addr0", eth0.Addrs[0].CIDR + " " + eth0.Addrs[0].Family + " " + eth0.Addrs[0].Scope, "10.1.0.2/24 ipv4 global"},
		{"tentative flags", strings.Join(eth0.Addrs[1].Flags, ","), "tentative"},
		{"dadfailed flags", strings.Join(eth0.Addrs[2].Flags, ","), "dadfailed"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.field, tc.got, tc.want)
		}
	}
	if eth0.PeerIndex != 17 || eth0.MTU != 1450 {
		t.Errorf("peer index %d mtu %d", eth0.PeerIndex, eth0.MTU)
	}
}

func TestFactsKeyedByNameNotIndex(t *testing.T) {
	facts := map[string]probe.Fact{}
	for _, f := range Facts(sample(t)) {
		if _, dup := facts[f.Key]; dup {
			t.Errorf("duplicate key %s", f.Key)
		}
		facts[f.Key] = f
	}
	want := map[string]string{
		"eth0/mtu":        "1450",
		"eth0/state":      "up",
		"eth0/addrs/ipv4": "10.1.0.2/24 global",
		"eth0/addrs/ipv6": "fd00::2/64 global tentative; fe80::858:aff:fe01:2/64 link dadfailed",
		"br0/flags":       "broadcast",
		"lo/type":         "loopback",
	}
	for k, v := range want {
		if facts[k].Value != v {
			t.Errorf("%s = %q, want %q", k, facts[k].Value, v)
		}
	}
	if f := facts["eth0/peer-index"]; f.Kind != probe.ShowOnly {
		t.Errorf("peer index must be Info, got %+v", f)
	}
	for k := range facts {
		if strings.Contains(k, "17") || strings.Contains(k, "/3/") {
			t.Errorf("key %q holds an ifindex", k)
		}
	}
}

func TestIdentity(t *testing.T) {
	id := Identity(sample(t))
	if want := []string{"10.1.0.2", "fd00::2", "fe80::858:aff:fe01:2"}; !reflect.DeepEqual(id.IPs, want) {
		t.Errorf("IPs = %v, want %v (never loopback)", id.IPs, want)
	}
	if want := []string{"0a:58:0a:01:00:02"}; !reflect.DeepEqual(id.MACs, want) {
		t.Errorf("MACs = %v", id.MACs)
	}
	if want := []string{"cni-1234"}; !reflect.DeepEqual(id.Names, want) {
		t.Errorf("Names = %v", id.Names)
	}
}

func TestLinkAndAddrFlags(t *testing.T) {
	tests := []struct {
		raw  uint32
		want string
	}{
		{0, ""},
		{unix.IFF_UP | unix.IFF_NOARP | unix.IFF_POINTOPOINT, "up,pointopoint,noarp"},
		{unix.IFF_PROMISC | unix.IFF_DORMANT, "promisc,dormant"},
	}
	for _, tc := range tests {
		if got := strings.Join(netstate.LinkFlags(tc.raw), ","); got != tc.want {
			t.Errorf("netstate.LinkFlags(%#x) = %q, want %q", tc.raw, got, tc.want)
		}
	}
	if got := strings.Join(netstate.AddrFlags(unix.IFA_F_PERMANENT|unix.IFA_F_NODAD|unix.IFA_F_DEPRECATED), ","); got != "nodad,deprecated" {
		t.Errorf("AddrFlags = %q", got)
	}
}

func TestConvertCaps(t *testing.T) {
	var links []netlink.Link
	for i := 0; i < MaxInterfaces+5; i++ {
		links = append(links, &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: i + 1, Name: "d" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)}})
	}
	s := Convert(links, nil)
	if !s.Truncated || s.Total != MaxInterfaces+5 || len(s.Interfaces) != MaxInterfaces {
		t.Errorf("truncated=%v total=%d len=%d", s.Truncated, s.Total, len(s.Interfaces))
	}
}
