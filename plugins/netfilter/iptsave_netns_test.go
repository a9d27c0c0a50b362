package netfilter

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

// TestIptablesSaveLines makes each rule with the real iptables (iptables-nft) in a
// network namespace of its own, reads it back through the collector's ruleset listing,
// and compares the rule's line to what iptables-save prints for it there.
func TestIptablesSaveLines(t *testing.T) {
	netnstest.RequireRoot(t)
	cases := []struct {
		name  string
		setup [][]string // run before the rule (ipset, a user chain)
		rule  []string   // iptables arguments after -A CHAIN (-t TABLE first where not filter)
		ip6   bool
	}{
		{name: "syn-multiport-connlimit-reject", rule: strings.Fields("-A OUTPUT -p tcp --syn -m multiport --dports 8080,9090 -m connlimit --connlimit-above 4 -j REJECT --reject-with tcp-reset")},
		{name: "tcp-flags-inverted", rule: strings.Fields("-A OUTPUT -p tcp ! --tcp-flags SYN,ACK ACK -j DROP")},
		{name: "dport-range", rule: strings.Fields("-A OUTPUT -p tcp --dport 1000:2000 -j DROP")},
		{name: "sport-not", rule: strings.Fields("-A OUTPUT -p udp ! --sport 53 -j ACCEPT")},
		{name: "multiport-ports-range", rule: strings.Fields("-A OUTPUT -p tcp -m multiport ! --ports 22,1000:1010 -j DROP")},
		{name: "multiport-sports", rule: strings.Fields("-A OUTPUT -p udp -m multiport --sports 53,67 -j ACCEPT")},
		{name: "conntrack", rule: strings.Fields("-A OUTPUT -p tcp --dport 80 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT")},
		{name: "conntrack-status-dir", rule: strings.Fields("-A OUTPUT -m conntrack ! --ctstate INVALID --ctstatus ASSURED --ctdir REPLY -j ACCEPT")},
		{name: "conntrack-origdstport", rule: strings.Fields("-A OUTPUT -m conntrack --ctproto 6 --ctorigdstport 8080 -j DROP")},
		{name: "state", rule: strings.Fields("-A OUTPUT -m state --state RELATED,ESTABLISHED -j ACCEPT")},
		{name: "owner-uid", rule: strings.Fields("-A OUTPUT -m owner --uid-owner 1000 -j DROP")},
		{name: "owner-not-uid-range-gid", rule: strings.Fields("-A OUTPUT -m owner ! --uid-owner 1000-2000 --gid-owner 5 -j DROP")},
		{name: "owner-socket", rule: strings.Fields("-A OUTPUT -m owner --socket-exists -j ACCEPT")},
		{name: "mark-mask", rule: strings.Fields("-A OUTPUT -m mark --mark 0x10/0xff -j ACCEPT")},
		{name: "mark-not", rule: strings.Fields("-A OUTPUT -m mark ! --mark 0x4 -j DROP")},
		{name: "connlimit-upto-daddr", rule: strings.Fields("-A OUTPUT -p tcp -m connlimit --connlimit-upto 10 --connlimit-mask 24 --connlimit-daddr -j ACCEPT")},
		{name: "hashlimit", rule: strings.Fields("-A OUTPUT -p tcp -m hashlimit --hashlimit-above 10/sec --hashlimit-burst 5 --hashlimit-mode dstip --hashlimit-name hl1 -j DROP")},
		{name: "hashlimit-upto-min", rule: strings.Fields("-A OUTPUT -m hashlimit --hashlimit-upto 30/min --hashlimit-burst 8 --hashlimit-mode srcip,dstport --hashlimit-name hl2 --hashlimit-htable-expire 5000 -j ACCEPT")},
		{name: "limit", rule: strings.Fields("-A OUTPUT -p udp -m limit --limit 5/min --limit-burst 7 -j ACCEPT")},
		{name: "limit-default-burst", rule: strings.Fields("-A OUTPUT -m limit --limit 60/min -j ACCEPT")},
		{name: "comment", rule: []string{"-A", "OUTPUT", "-m", "comment", "--comment", `keep "this" out`, "-j", "ACCEPT"}},
		{name: "comment-bare", rule: strings.Fields("-A OUTPUT -m comment --comment kube-proxy -j ACCEPT")},
		{name: "set", setup: [][]string{{"ipset", "create", "nd-s1", "hash:ip"}}, rule: strings.Fields("-A OUTPUT -m set --match-set nd-s1 dst -j DROP")},
		{name: "set-two-dims", setup: [][]string{{"ipset", "create", "nd-s2", "hash:ip,port"}}, rule: strings.Fields("-A OUTPUT -m set ! --match-set nd-s2 dst,dst --return-nomatch -j DROP")},
		{name: "addr-iface-mark-target", rule: strings.Fields("-A OUTPUT -d 10.0.0.0/8 -o eth0 -j MARK --set-xmark 0x1/0xffffffff")},
		{name: "addr-odd-prefix", rule: strings.Fields("-A OUTPUT ! -s 172.16.0.0/12 -o veth+ -j DROP")},
		{name: "reject-default", rule: strings.Fields("-A OUTPUT -p udp --sport 53 -j REJECT")},
		{name: "reject-net-unreachable", rule: strings.Fields("-A OUTPUT -p tcp --dport 8082 -m owner --uid-owner 0 -j REJECT --reject-with icmp-net-unreachable")},
		{name: "icmp", rule: strings.Fields("-A OUTPUT -p icmp --icmp-type echo-request -j DROP")},
		{name: "jump", setup: [][]string{{"iptables", "-N", "MYCH"}}, rule: strings.Fields("-A OUTPUT -j MYCH")},
		{name: "dnat", rule: strings.Fields("-t nat -A OUTPUT -p tcp -d 10.1.2.3 --dport 80 -j DNAT --to-destination 10.9.9.9:8080")},
		{name: "dnat-range-random", rule: strings.Fields("-t nat -A OUTPUT -p tcp --dport 81 -j DNAT --to-destination 10.9.9.9-10.9.9.12:8080-8090 --random")},
		{name: "snat", rule: strings.Fields("-t nat -A POSTROUTING -s 10.0.0.0/8 -j SNAT --to-source 1.2.3.4")},
		{name: "masquerade", rule: strings.Fields("-t nat -A POSTROUTING -o eth0 -j MASQUERADE")},
		{name: "masquerade-ports", rule: strings.Fields("-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 2000-3000 --random-fully")},
		{name: "ip6-reject", ip6: true, rule: strings.Fields("-A OUTPUT -p tcp -d fd00::/64 --dport 443 -j REJECT --reject-with icmp6-adm-prohibited")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := netnstest.New(t, "ipts")
			for _, s := range tc.setup {
				ns.Exec(s...)
			}
			cmd, save := "iptables", "iptables-save"
			if tc.ip6 {
				cmd, save = "ip6tables", "ip6tables-save"
			}
			ns.Exec(append([]string{cmd}, tc.rule...)...)
			table := "filter"
			if tc.rule[0] == "-t" {
				table = tc.rule[1]
			}
			var want []string
			for _, l := range strings.Split(ns.Exec(save, "-t", table), "\n") {
				if strings.HasPrefix(l, "-A ") {
					want = append(want, l)
				}
			}
			var n *Nft
			if err := ns.Do(func() error { n = listNft(); return nil }); err != nil {
				t.Fatal(err)
			}
			if n.Error != nil {
				t.Fatalf("list: %v", n.Error)
			}
			fam := "ip/"
			if tc.ip6 {
				fam = "ip6/"
			}
			var got []string
			for _, r := range n.Rules {
				if !strings.HasPrefix(r.Chain, fam+table+"/") {
					continue
				}
				if line := r.SaveLine(); line != "" {
					got = append(got, line)
				} else {
					got = append(got, "(nft) "+r.Match+" → "+r.Verdict)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("read back:\n%s\niptables-save:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
