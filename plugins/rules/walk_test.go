package rules

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// walkComparison is one subject's rules and routes as the diagnosis sees them: rows of
// the rules section (and any extra rows), the routes in its report.
func walkComparison(t *testing.T, rules []Rule, routes []netstate.Route, extra ...contract.Row) *contract.Comparison {
	t.Helper()
	rs, _ := json.Marshal(routesSchema{Routes: routes})
	rep := &report.Report{Sections: map[string]json.RawMessage{routesSection: rs}}
	c := &contract.Comparison{Subjects: []string{"pod"}, Reports: []*report.Report{rep}}
	for _, r := range rules {
		c.Rows = append(c.Rows, contract.Row{Section: Name, Key: r.Key(), Values: []string{r.Value()}, Equal: true})
	}
	c.Rows = append(c.Rows, extra...)
	sort.Slice(c.Rows, func(a, b int) bool {
		if c.Rows[a].Section != c.Rows[b].Section {
			return c.Rows[a].Section < c.Rows[b].Section
		}
		return c.Rows[a].Key < c.Rows[b].Key
	})
	return c
}

// The walk on rules the kernel really has, one probe at a time: what it reaches, and the
// rule that decides.
func TestWalkDecides(t *testing.T) {
	zero := 0
	std := []Rule{
		{Family: "ipv4", Priority: 0, From: "all", Action: "lookup", Table: "local"},
		{Family: "ipv4", Priority: 32766, From: "all", Action: "lookup", Table: "main"},
		{Family: "ipv4", Priority: 32767, From: "all", Action: "lookup", Table: "default"},
	}
	routes := []netstate.Route{
		{Family: "ipv4", Table: "main", Type: "unicast", Dst: "default"},
		{Family: "ipv4", Table: "main", Type: "unicast", Dst: "10.0.0.0/24"},
		{Family: "ipv4", Table: "local", Type: "local", Dst: "10.0.0.5"},
		{Family: "ipv4", Table: "51820", Type: "blackhole", Dst: "default"},
		{Family: "ipv4", Table: "60", Type: "throw", Dst: "10.9.0.0/16"},
	}
	wg := []Rule{
		{Family: "ipv4", Priority: 100, From: "all", Action: "lookup", Table: "main", SuppressPrefixlen: &zero},
		{Family: "ipv4", Priority: 200, Not: true, From: "all", Fwmark: "0xca6c", Action: "lookup", Table: "51820"},
	}
	markRow := contract.Row{Section: "netfilter", Key: "nft/ip/mangle/output/1 meta l4proto tcp", Values: []string{"meta mark set 0x1"}, Equal: true}
	for _, tc := range []struct {
		name   string
		rules  []Rule
		extra  []contract.Row
		dst    string
		port   int
		path   []int // priorities on the path, in walk order
		decide int   // -1: no rule decides for certain
	}{
		{"main decides", nil, nil, "10.1.2.3", 80, []int{32766}, 32766},
		{"local decides its own address", nil, nil, "10.0.0.5", 80, []int{0}, 0},
		{"suppressed default goes on to the blackhole table", wg, nil, "10.1.2.3", 80, []int{200}, 200},
		{"a connected route is not suppressed", wg, nil, "10.0.0.7", 80, []int{100}, 100},
		{"goto jumps over the blackhole", append([]Rule{{Family: "ipv4", Priority: 50, From: "all", To: "10.1.0.0/16", Action: "goto", Goto: 32766}}, wg...), nil, "10.1.2.3", 80, []int{50, 32766}, 32766},
		{"an unresolved goto is skipped", []Rule{{Family: "ipv4", Priority: 50, From: "all", Action: "goto", Goto: 4000}}, nil, "10.1.2.3", 80, []int{32766}, 32766},
		{"a throw route goes on", []Rule{{Family: "ipv4", Priority: 60, From: "all", Action: "lookup", Table: "60"}}, nil, "10.9.1.1", 80, []int{32766}, 32766},
		{"an empty table goes on", []Rule{{Family: "ipv4", Priority: 70, From: "all", Action: "lookup", Table: "70"}}, nil, "10.1.2.3", 80, []int{32766}, 32766},
		{"a fwmark rule takes no unmarked probe", []Rule{{Family: "ipv4", Priority: 80, From: "all", Fwmark: "0x1", Action: "prohibit"}}, nil, "10.1.2.3", 80, []int{32766}, 32766},
		{"a fwmark rule may take a probe a netfilter rule marks", []Rule{{Family: "ipv4", Priority: 80, From: "all", Fwmark: "0x1", Action: "prohibit"}}, []contract.Row{markRow}, "10.1.2.3", 80, []int{80, 32766}, 32766},
		{"dport selects", []Rule{{Family: "ipv4", Priority: 90, From: "all", IPProto: "tcp", Dport: "8081", Action: "prohibit"}}, nil, "10.1.2.3", 8081, []int{90}, 90},
		{"another dport passes by", []Rule{{Family: "ipv4", Priority: 90, From: "all", IPProto: "tcp", Dport: "8081", Action: "prohibit"}}, nil, "10.1.2.3", 8080, []int{32766}, 32766},
		{"oif takes no unbound socket", []Rule{{Family: "ipv4", Priority: 90, From: "all", Oif: "eth0", Action: "prohibit"}}, nil, "10.1.2.3", 80, []int{32766}, 32766},
		{"an unknown source port keeps the rule, the walk goes on", []Rule{{Family: "ipv4", Priority: 90, From: "all", Sport: "1000-2000", Action: "prohibit"}}, nil, "10.1.2.3", 80, []int{90, 32766}, 32766},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := walkComparison(t, append(slices.Clone(std), tc.rules...), routes, tc.extra...)
			p := &contract.Probe{Target: "tcp://" + tc.dst, AddrKey: "ipv4", Proto: "tcp", Port: tc.port,
				Addr: []netip.Addr{netip.MustParseAddr(tc.dst)}}
			w := walk(c, p, 0)
			var got []int
			prio := map[string]int{}
			for _, r := range c.Section(Name) {
				rr, _ := parseRuleKey(r, "ipv4")
				prio[r.Key] = rr.priority
			}
			for _, k := range w.path {
				got = append(got, prio[k])
			}
			decided := -1
			if w.decider != "" {
				decided = prio[w.decider]
			}
			// The std rules are equal in every subject, so a passing one is not listed;
			// what is on the path and decides is.
			if !slices.Equal(got, tc.path) || decided != tc.decide {
				t.Errorf("path %v decided by %d, want %v decided by %d", got, decided, tc.path, tc.decide)
			}
		})
	}
}

// A rule the failing subject lacks lies on its path where its walk reached that
// priority, and not after the rule that decided.
func TestWalkTakesInWhatTheSubjectLacks(t *testing.T) {
	row := func(key string, a, b string) contract.Row {
		r := contract.Row{Section: Name, Key: key, Values: []string{a, b}, Missing: []bool{a == "-", b == "-"}}
		r.Equal = a == b
		return r
	}
	c := &contract.Comparison{Subjects: []string{"pod-a", "pod-b"}, Reports: []*report.Report{nil, nil}, Rows: []contract.Row{
		row("ipv4/100 from all to 10.1.2.3", "prohibit", "prohibit"),
		row("ipv4/200 from all to 10.1.2.3", "lookup main", "-"),
		row("ipv4/50 from all to 10.1.2.0/24", "lookup 7", "-"),
	}}
	p := &contract.Probe{Target: "tcp://10.1.2.3:80", AddrKey: "ipv4", Proto: "tcp", Port: 80,
		Addr: []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.1.2.3")}}
	got := walk(c, p, 1).path
	want := []string{"ipv4/50 from all to 10.1.2.0/24", "ipv4/100 from all to 10.1.2.3"}
	if !slices.Equal(got, want) {
		t.Errorf("pod-b's path %q, want %q (200 lies after the prohibit that decides)", got, want)
	}
}
