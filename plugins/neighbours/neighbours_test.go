package neighbours

import (
	"fmt"
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

func TestStateName(t *testing.T) {
	tests := map[int]string{
		0:                                   "NONE",
		unix.NUD_REACHABLE:                  "REACHABLE",
		unix.NUD_FAILED:                     "FAILED",
		unix.NUD_PERMANENT:                  "PERMANENT",
		unix.NUD_NOARP:                      "NOARP",
		unix.NUD_INCOMPLETE:                 "INCOMPLETE",
		unix.NUD_STALE | unix.NUD_PERMANENT: "STALE|PERMANENT",
	}
	for in, want := range tests {
		if got := netstate.StateName(in); got != want {
			t.Errorf("netstate.StateName(%#x) = %q, want %q", in, got, want)
		}
	}
}

func TestConvertMarksGatewaysAndSkipsFDB(t *testing.T) {
	mac, _ := net.ParseMAC("ee:ee:ee:ee:ee:ee")
	names := map[int]string{2: "eth0"}
	gws := Gateways([]netlink.Route{{Gw: net.ParseIP("169.254.1.1"), LinkIndex: 2}, {MultiPath: []*netlink.NexthopInfo{{Gw: net.ParseIP("fe80::1"), LinkIndex: 2}}}}, names)
	s := Convert([]netlink.Neigh{
		{Family: unix.AF_INET, LinkIndex: 2, IP: net.ParseIP("10.1.0.7"), State: unix.NUD_STALE, HardwareAddr: mac},
		{Family: unix.AF_INET, LinkIndex: 2, IP: net.ParseIP("169.254.1.1"), State: unix.NUD_REACHABLE, HardwareAddr: mac},
		{Family: unix.AF_INET6, LinkIndex: 2, IP: net.ParseIP("fe80::1"), State: unix.NUD_FAILED, Flags: unix.NTF_ROUTER},
		{Family: unix.AF_BRIDGE, LinkIndex: 2, HardwareAddr: mac, State: unix.NUD_PERMANENT},
		{Family: unix.AF_INET6, LinkIndex: 2, IP: net.ParseIP("ff02::1:ff89:e83f"), State: unix.NUD_NOARP, HardwareAddr: mac},
	}, names, gws)
	var got []string
	for _, n := range s.Neighbours {
		got = append(got, fmt.Sprintf("%s=%s %s gw=%v", n.Key(), n.Value(), n.State, n.Gateway))
	}
	want := []string{
		"eth0/169.254.1.1=lladdr ee:ee:ee:ee:ee:ee REACHABLE gw=true",
		"eth0/fe80::1=no lladdr router FAILED gw=true",
		"eth0/10.1.0.7=lladdr ee:ee:ee:ee:ee:ee STALE gw=false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || s.Total != 3 {
		t.Errorf("got %q (total %d), want %q", got, s.Total, want)
	}
	kinds := map[string]probe.FactKind{}
	for _, f := range Facts(s) {
		kinds[f.Key] = f.Kind
	}
	s.Neighbours[0].Veth = true
	facts := map[string]probe.Fact{}
	for _, f := range Facts(s) {
		facts[f.Key] = f
	}
	if f := facts["eth0/169.254.1.1"]; f.Value != "lladdr of the veth peer" || f.Kind != probe.Exact {
		t.Errorf("veth gateway fact = %+v", f)
	}
	if f := facts["eth0/169.254.1.1/lladdr"]; f.Value != "ee:ee:ee:ee:ee:ee" || f.Kind != probe.ShowOnly {
		t.Errorf("veth gateway lladdr fact = %+v, want the MAC as Info", f)
	}
	if kinds["eth0/169.254.1.1"] != probe.Exact || kinds["eth0/10.1.0.7"] != probe.ShowOnly || kinds["eth0/169.254.1.1/state"] != probe.ShowOnly {
		t.Errorf("fact kinds = %v: a gateway's MAC is compared, other learned entries and states are Info", kinds)
	}
}

func TestConvertCaps(t *testing.T) {
	var ns []netlink.Neigh
	for i := 0; i < MaxNeighbours+1; i++ {
		ns = append(ns, netlink.Neigh{Family: unix.AF_INET, LinkIndex: 2, IP: net.IPv4(10, 0, byte(i>>8), byte(i)), State: unix.NUD_STALE})
	}
	ns = append(ns, netlink.Neigh{Family: unix.AF_INET, LinkIndex: 2, IP: net.IPv4(10, 255, 0, 1), State: unix.NUD_REACHABLE})
	s := Convert(ns, map[int]string{2: "eth0"}, map[string]bool{"eth0/10.255.0.1": true})
	if !s.Truncated || s.Total != MaxNeighbours+2 || len(s.Neighbours) != MaxNeighbours || !s.Neighbours[0].Gateway {
		t.Errorf("truncated=%v total=%d len=%d first=%+v: the gateway must survive the cap", s.Truncated, s.Total, len(s.Neighbours), s.Neighbours[0])
	}
}
