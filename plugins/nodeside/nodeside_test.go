package nodeside

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables/expr"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestParseConntrack(t *testing.T) {
	b := plugintest.Fixture(t, "nf_conntrack")
	for _, tc := range []struct {
		ips       []string
		count     int
		unreplied int
		first     string
	}{
		{[]string{"10.22.0.5"}, 1, 1, "udp src=10.22.0.1 dst=10.22.0.5 sport=35433 dport=5353 [UNREPLIED] reply: src=10.22.0.5 dst=10.22.0.1 sport=5353 dport=35433"},
		{[]string{"fd22::5"}, 1, 1, "udp src=fd22::1 dst=fd22::5 sport=45684 dport=53 [UNREPLIED] reply: src=fd22::5 dst=fd22::1 sport=53 dport=45684"},
		{[]string{"10.99.0.1"}, 3, 0, "tcp ESTABLISHED src=10.99.0.1 dst=10.99.0.1 sport=36942 dport=10250 reply: src=10.99.0.1 dst=10.99.0.1 sport=10250 dport=36942 [ASSURED]"},
		// 10.22.0.50 must not match 10.22.0.5, nor 10.99.0.11 match 10.99.0.1.
		{[]string{"10.22.0.50", "10.99.0.11"}, 0, 0, ""},
	} {
		ct := &Conntrack{Entries: []string{}}
		if err := ParseConntrack(bytes.NewReader(b), addrs(tc.ips...), ct); err != nil {
			t.Fatal(err)
		}
		if ct.Count != tc.count || ct.Unreplied != tc.unreplied {
			t.Errorf("%v: count %d unreplied %d, want %d %d", tc.ips, ct.Count, ct.Unreplied, tc.count, tc.unreplied)
		}
		if tc.first != "" && (len(ct.Entries) == 0 || ct.Entries[0] != tc.first) {
			t.Errorf("%v: entries %q, want first %q", tc.ips, ct.Entries, tc.first)
		}
	}
}

func TestConntrackCap(t *testing.T) {
	line := "ipv4     2 udp      17 29 src=10.22.0.1 dst=10.22.0.5 sport=1 dport=53 [UNREPLIED] src=10.22.0.5 dst=10.22.0.1 sport=53 dport=1 mark=0 zone=0 use=2\n"
	ct := &Conntrack{Entries: []string{}}
	if err := ParseConntrack(strings.NewReader(strings.Repeat(line, MaxConntrack+7)), addrs("10.22.0.5"), ct); err != nil {
		t.Fatal(err)
	}
	if ct.Count != MaxConntrack+7 || len(ct.Entries) != MaxConntrack || !ct.Truncated || ct.ByState["udp"] != MaxConntrack+7 {
		t.Errorf("count %d entries %d truncated %v bystate %v", ct.Count, len(ct.Entries), ct.Truncated, ct.ByState)
	}
}

func FuzzParseConntrack(f *testing.F) {
	plugintest.Seed(f, "nf_conntrack")
	f.Fuzz(func(t *testing.T, b []byte) {
		ct := &Conntrack{Entries: []string{}}
		_ = ParseConntrack(bytes.NewReader(b), addrs("10.22.0.5", "fd22::5"), ct)
		if len(ct.Entries) > MaxConntrack || ct.Count < len(ct.Entries) {
			t.Fatalf("count %d entries %d", ct.Count, len(ct.Entries))
		}
	})
}

func TestMentions(t *testing.T) {
	ip := addrs("10.244.0.13", "fd00::d")
	pad := func(s string) []byte { return append([]byte(s), make([]byte, 16-len(s))...) }
	for _, tc := range []struct {
		name  string
		exprs []expr.Any
		want  string
	}{
		{"iptables-nft -d IP", []expr.Any{&expr.Payload{}, &expr.Cmp{Op: expr.CmpOpEq, Data: []byte{10, 244, 0, 13}}, &expr.Verdict{Kind: expr.VerdictDrop}}, "ip"},
		{"ipv6 address", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: netip.MustParseAddr("fd00::d").AsSlice()}}, "ip"},
		{"another pod", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: []byte{10, 244, 0, 14}}}, ""},
		{"iptables-nft -o veth", []expr.Any{&expr.Meta{}, &expr.Cmp{Op: expr.CmpOpEq, Data: pad("veth1234")}}, "veth"},
		{"nft oifname", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: []byte("veth1234\x00")}}, "veth"},
		{"wildcard veth+", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: []byte("veth")}}, ""},
		{"longer name", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: pad("veth12345")}}, ""},
		{"set lookup", []expr.Any{&expr.Lookup{SetName: "blocked"}, &expr.Lookup{SetName: "other"}}, "set:blocked"},
		{"both", []expr.Any{&expr.Cmp{Op: expr.CmpOpEq, Data: []byte{10, 244, 0, 13}}, &expr.Cmp{Op: expr.CmpOpEq, Data: pad("veth1234")}}, "ip,veth"},
		{"range compare is not a mention", []expr.Any{&expr.Cmp{Op: expr.CmpOpGt, Data: []byte{10, 244, 0, 13}}}, ""},
	} {
		got := strings.Join(Mentions(tc.exprs, ip, "veth1234", map[string]bool{"blocked": true}), ",")
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFactsNormalise(t *testing.T) {
	s := &Section{
		PodIPs:   []string{"10.244.0.1"},
		Veth:     &interfaces.Interface{Name: "veth1", Type: "veth", MTU: 1400, OperState: "up", Flags: []string{"up", "broadcast"}},
		Sysctls:  map[string]string{"net/ipv4/conf/veth1/proxy_arp": "1", "net/ipv4/conf/veth12/proxy_arp": "0"},
		RouteGet: []RouteGet{{IP: "10.244.0.1"}},
	}
	got := map[string]string{}
	for _, f := range Facts(s) {
		got[f.Key] = f.Value
	}
	for k, want := range map[string]string{
		"sysctl/net/ipv4/conf/<pod-veth>/proxy_arp": "1",
		"sysctl/net/ipv4/conf/veth12/proxy_arp":     "0",
		"veth/flags":                                "broadcast,up",
		"veth/master":                               "(none)",
		"route-get/ipv4":                            "no answer",
		"veth/name":                                 "<pod-veth>",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
	norm := normaliser([]string{"10.244.0.1", "10.244.0.10"}, "")
	if v := norm("via 10.244.0.10 src 10.244.0.1/32 10.244.0.100"); v != "via <self> src <self>/32 10.244.0.100" {
		t.Errorf("normalise: %q", v)
	}
}

func sectionReport(t *testing.T, s *Section) *report.Report {
	return &report.Report{Sections: map[string]json.RawMessage{Name: plugintest.MustMarshal(t, s)}}
}

// The veth and conntrack rules on sections as a node would give them: an MTU that
// differs, and a conntrack table 93% full on pod-a's node.
func TestVethAndConntrackRules(t *testing.T) {
	mk := func(ip, veth string, mtu, count int) *Section {
		return &Section{PodIPs: []string{ip},
			Veth:      &interfaces.Interface{Name: veth, Type: "veth", MTU: mtu, OperState: "up", Flags: []string{"up"}},
			Sysctls:   map[string]string{},
			Conntrack: &Conntrack{Entries: []string{}, Count: 12, TableCount: count, TableMax: 262144}}
	}
	reps := []*report.Report{sectionReport(t, mk("10.244.0.13", "veth1", 1400, 243810)), sectionReport(t, mk("10.244.1.7", "veth2", 1500, 800))}
	got := map[string]string{}
	for _, f := range plugintest.Findings(t, Name, []string{"pod-a", "pod-b"}, reps) {
		got[f.Rule] = f.Message
	}
	want := map[string]string{
		"nodeside/veth":               "the node's end of the pod's veth differs in mtu (1400 in pod-a; 1500 in pod-b)",
		"nodeside/conntrack-pressure": "the conntrack table on the node of pod-a is 93% full (243810 of 262144): new connections are dropped when it fills (pod-a has 12 entries)",
	}
	if len(got) != len(want) {
		t.Errorf("findings %v", got)
	}
	for r, m := range want {
		if got[r] != m {
			t.Errorf("%s: %q, want %q", r, got[r], m)
		}
	}
}

// What every pod has its own of on its node lines up across nodes: kube-proxy's
// per-endpoint chains (one fact for all the pod's Services) and the node's range that
// holds the pod (Calico's blackhole of its block).
func TestPerEndpointChainsAndNodeRangeLineUp(t *testing.T) {
	sec := func(ip, cidr string, chains ...string) *Section {
		s := &Section{PodIPs: []string{ip}, Netfilter: &Netfilter{}}
		s.Routes = []netstate.Route{{Family: "ipv4", Table: "main", Type: "blackhole", Dst: cidr, Proto: "boot"}}
		for _, c := range chains {
			s.Netfilter.Rules = append(s.Netfilter.Rules, Rule{Table: "ip/nat", Chain: c, Action: "jump", Mentions: []string{"ip"}})
		}
		return s
	}
	keys := func(s *Section) map[string]string {
		m := map[string]string{}
		for _, f := range Facts(s) {
			m[f.Key] = f.Value
		}
		return m
	}
	a := keys(sec("10.244.0.6", "10.244.0.0/24", "KUBE-SEP-HIZREF2SI2OBGYXT", "KUBE-SEP-AAAAAAAAAAAAAAAA"))
	b := keys(sec("10.244.1.7", "10.244.1.0/24", "KUBE-SEP-BCJDKEVTF6K7HRVR", "KUBE-SEP-BBBBBBBBBBBBBBBB"))
	if !reflect.DeepEqual(a, b) {
		t.Errorf("facts differ:\n%v\n%v", a, b)
	}
	if a["netfilter/ip/nat/KUBE-SEP-<pod-endpoint>"] != "jump (ip); jump (ip)" || a["route/ipv4/main/blackhole/<pod-range>/24"] != "proto boot" {
		t.Errorf("unexpected facts: %v", a)
	}
	// Felix's dispatch chains, split by the veths' first letters, are one fact.
	fa := keys(sec("10.244.0.6", "10.244.0.0/24", "cali-from-wl-dispatch", "cali-from-wl-dispatch-4"))
	fb := keys(sec("10.244.1.7", "10.244.1.0/24", "cali-from-wl-dispatch"))
	if fa["netfilter/ip/nat/cali-from-wl-dispatch"] != "jump (ip)" || !reflect.DeepEqual(fa, fb) {
		t.Errorf("dispatch chains do not line up:\n%v\n%v", fa, fb)
	}
	// Another chain is still itself.
	if c := keys(sec("10.244.0.6", "10.244.0.0/24", "KUBE-SVC-73WMMOVXT3WEBZ65")); c["netfilter/ip/nat/KUBE-SVC-73WMMOVXT3WEBZ65"] == "" {
		t.Errorf("a Service chain was renamed: %v", c)
	}
}

// Felix's dispatch rules (`-i caliXXXX -g cali-fw-caliXXXX`) are the pod's own by role:
// two pods whose veths land in different dispatch chains line up; a dispatch of the
// pod's interface to another chain than its own does not.
func TestFelixDispatchByRole(t *testing.T) {
	sec := func(ip, veth string, rules ...Rule) *Section {
		s := &Section{PodIPs: []string{ip}, Veth: &netstate.Interface{Name: veth}, Netfilter: &Netfilter{Rules: rules}}
		return s
	}
	dispatch := func(chain, target string) Rule {
		return Rule{Table: "ip/filter", Chain: chain, Action: "goto", Target: target, Mentions: []string{"veth"}}
	}
	facts := func(s *Section) map[string]string {
		m := map[string]string{}
		for _, f := range Facts(s) {
			m[f.Key] = f.Value
		}
		return m
	}
	a := facts(sec("10.244.0.6", "cali32cfa1d8dc3", dispatch("cali-from-wl-dispatch-3", "cali-fw-cali32cfa1d8dc3"), dispatch("cali-to-wl-dispatch-3", "cali-tw-cali32cfa1d8dc3")))
	b := facts(sec("10.244.0.7", "calia56395a82ef", dispatch("cali-from-wl-dispatch", "cali-fw-calia56395a82ef"), dispatch("cali-to-wl-dispatch", "cali-tw-calia56395a82ef")))
	if !reflect.DeepEqual(a, b) {
		t.Errorf("twins' dispatch facts differ:\n%v\n%v", a, b)
	}
	if a["felix-dispatch/ip/filter/cali-fw-"+PodVeth] != "goto" {
		t.Errorf("no dispatch fact by role: %v", a)
	}
	for k := range a {
		if strings.Contains(k, "dispatch-3") || strings.Contains(k, "cali32") {
			t.Errorf("a dispatch chain's or veth's name in a key: %s", k)
		}
	}
	wrong := facts(sec("10.244.0.7", "calia56395a82ef", dispatch("cali-from-wl-dispatch", "cali-fw-cali32cfa1d8dc3"), dispatch("cali-to-wl-dispatch", "cali-tw-calia56395a82ef")))
	if _, ok := wrong["felix-dispatch/ip/filter/cali-fw-cali32cfa1d8dc3"]; !ok || reflect.DeepEqual(a, wrong) {
		t.Errorf("a dispatch to another pod's chain lines up with the own: %v", wrong)
	}
}
