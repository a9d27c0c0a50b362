package routes

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"encoding/json"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func cidr(s string) *net.IPNet {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	n.IP = ip.Mask(n.Mask)
	return n
}

var names = map[int]string{1: "lo", 2: "eth0", 3: "eth1"}

func TestConvertRoute(t *testing.T) {
	tests := []struct {
		name       string
		in         netlink.Route
		key, value string
	}{
		{"default via gateway",
			netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Gw: net.ParseIP("169.254.1.1").To4(), LinkIndex: 2, Protocol: unix.RTPROT_BOOT, Flags: unix.RTNH_F_ONLINK},
			"ipv4/main/unicast/default", "via 169.254.1.1 dev eth0 proto boot onlink"},
		{"connected subnet keeps its device in the key",
			netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: cidr("10.1.0.0/24"), LinkIndex: 2, Protocol: unix.RTPROT_KERNEL, Scope: unix.RT_SCOPE_LINK, Src: net.ParseIP("10.1.0.5")},
			"ipv4/main/unicast/10.1.0.0/24 dev eth0", "dev eth0 proto kernel scope link src 10.1.0.5"},
		{"local route of an own address is a bare host address",
			netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: cidr("10.1.0.5/32"), LinkIndex: 2, Protocol: unix.RTPROT_KERNEL, Scope: unix.RT_SCOPE_HOST, Src: net.ParseIP("10.1.0.5")},
			"ipv4/local/local/10.1.0.5 dev eth0", "dev eth0 proto kernel scope host src 10.1.0.5"},
		{"unreachable default in a numbered table",
			netlink.Route{Family: unix.AF_INET, Table: 100, Type: unix.RTN_UNREACHABLE, LinkIndex: 1, Protocol: unix.RTPROT_BOOT},
			"ipv4/100/unreachable/default", "dev lo proto boot"},
		{"ipv6 link-local with metric and mtu",
			netlink.Route{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: cidr("fe80::/64"), LinkIndex: 3, Priority: 256, MTU: 1400, AdvMSS: 1340, Protocol: unix.RTPROT_KERNEL},
			"ipv6/main/unicast/fe80::/64 dev eth1 metric 256", "dev eth1 proto kernel mtu 1400 advmss 1340"},
		{"multipath",
			netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: cidr("10.9.0.0/16"), MultiPath: []*netlink.NexthopInfo{{LinkIndex: 2, Gw: net.ParseIP("10.1.0.1"), Hops: 0}, {LinkIndex: 9, Gw: net.ParseIP("10.2.0.1"), Hops: 1, Flags: unix.RTNH_F_LINKDOWN}}},
			"ipv4/main/unicast/10.9.0.0/16", "nexthop via 10.1.0.1 dev eth0 weight 1 nexthop via 10.2.0.1 dev if9 weight 2 linkdown"},
		{"blackhole with tos",
			netlink.Route{Family: unix.AF_INET, Table: 7, Type: unix.RTN_BLACKHOLE, Dst: cidr("203.0.113.0/24"), Tos: 0x10},
			"ipv4/7/blackhole/203.0.113.0/24 tos 0x10", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := netstate.ConvertRoute(tc.in, names)
			if r.Key() != tc.key {
				t.Errorf("key = %q, want %q", r.Key(), tc.key)
			}
			if r.Value() != tc.value {
				t.Errorf("value = %q, want %q", r.Value(), tc.value)
			}
		})
	}
}

func TestConvertOrdersMainFirstAndCaps(t *testing.T) {
	var rs []netlink.Route
	for i := 0; i < MaxRoutes+10; i++ {
		rs = append(rs, netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: &net.IPNet{IP: net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), Mask: net.CIDRMask(32, 32)}, LinkIndex: 2})
	}
	rs = append(rs, netlink.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Gw: net.ParseIP("10.0.0.1"), LinkIndex: 2})
	rs = append(rs, netlink.Route{Family: 128 /* RTNL_FAMILY_IPMR */, Table: unix.RT_TABLE_MAIN})
	s := Convert(rs, names)
	if !s.Truncated || s.Total != MaxRoutes+11 || len(s.Routes) != MaxRoutes {
		t.Fatalf("truncated=%v total=%d len=%d", s.Truncated, s.Total, len(s.Routes))
	}
	if s.Routes[0].Key() != "ipv4/main/unicast/default" {
		t.Errorf("first route %q: the main table must survive the cap", s.Routes[0].Key())
	}
	if s.Counts["ipv4/local"] != MaxRoutes+10 || s.Counts["ipv4/main"] != 1 {
		t.Errorf("counts = %v", s.Counts)
	}
	facts := Facts(s)
	last := facts[len(facts)-1]
	if last.Key != "truncated" || last.Value != fmt.Sprintf("true (%d of %d shown)", MaxRoutes, MaxRoutes+11) {
		t.Errorf("last fact = %+v", last)
	}
}

func TestFactsKeysAreUnique(t *testing.T) {
	r := Route{Family: "ipv4", Table: "main", Type: "unicast", Dst: "default", Gw: "10.0.0.1", Dev: "eth0"}
	r2 := r
	r2.Dev = "eth1"
	var keys []string
	for _, f := range Facts(&Section{Routes: []Route{r, r2}}) {
		keys = append(keys, f.Key)
	}
	if want := []string{"ipv4/main/unicast/default", "ipv4/main/unicast/default #2"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

// The rules must cope with any number of subjects and with sections some reports lack.
func TestRulesTolerateMissingSections(t *testing.T) {
	reps := []*report.Report{
		{Sections: map[string]json.RawMessage{Name: json.RawMessage(`{"routes":[{"family":"ipv4","table":"main","type":"unicast","dst":"default","gw":"10.0.0.1","dev":"eth0"}]}`)}},
		{Sections: map[string]json.RawMessage{}},
		{Sections: map[string]json.RawMessage{Name: json.RawMessage(`{"routes":[]}`)}},
		nil,
	}
	c := &contract.Comparison{Subjects: []string{"a", "b", "c", "d"}, Reports: reps}
	var got []string
	for _, rule := range []string{"no-default-route", "default-gateway-differs", "reject-route", "mtu-differs"} {
		for _, f := range diff.RunRule(Name+"/"+rule, c) {
			got = append(got, f.Rule+": "+f.Message)
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "routes/no-default-route: c has no IPv4 default route (a has `default via 10.0.0.1 dev eth0`") {
		t.Errorf("findings = %q", got)
	}
}
