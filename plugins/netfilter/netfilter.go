// Package netfilter reports what netfilter the network namespace has: which legacy
// iptables tables exist and which match/target extensions are loaded (readable by anyone),
// conntrack's presence, and, where CAP_NET_ADMIN allows, the nftables ruleset and the
// legacy iptables rules, counted by what they do (REJECT, DROP, DNAT …).
package netfilter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// visibilityFiles are the /proc/net files any process may read.
var visibilityFiles = []string{
	"ip_tables_names", "ip6_tables_names", "arp_tables_names",
	"ip_tables_targets", "ip6_tables_targets", "ip_tables_matches", "ip6_tables_matches",
}

// maxNames caps a visibility list (matches and targets are about 100 names).
const maxNames = 200

// List is the content of one /proc/net name list, or why it could not be read.
type List struct {
	Names []string      `json:"names"`
	Error *report.Error `json:"error,omitempty"`
}

// Section is the stored shape of sections.netfilter.
type Section struct {
	// Visibility maps each /proc/net/*_tables_* file to its (sorted, de-duplicated) names.
	Visibility map[string]List `json:"visibility"`
	// Conntrack says whether /proc/net/nf_conntrack exists: conntrack is active in this
	// namespace. Its count and max are in the sysctls section.
	Conntrack bool `json:"conntrack"`
	// Nftables is the ruleset over netlink (needs CAP_NET_ADMIN).
	Nftables *Nft `json:"nftables"`
	// Iptables holds the legacy tables by family ("ipv4", "ipv6") that exist here.
	Iptables map[string][]XTable `json:"iptables"`
	// Note explains a refused read in words, for people reading the raw report.
	Note string `json:"note,omitempty"`
}

type Plugin struct{}

const Name = "netfilter"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"rules":      rulesRule,
			"visibility": visibilityRule,
		},
		Analysis: &analysis,
	})
}

// facts flattens the section; see docs/sections/netfilter.md.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	for f, l := range s.Visibility {
		kind := probe.Exact
		if strings.HasSuffix(f, "_matches") || strings.HasSuffix(f, "_targets") {
			// Loaded extensions are a property of the node's kernel, not of the pod.
			kind = probe.ShowOnly
		}
		if l.Error != nil {
			add("visible/"+f, "unreadable: "+l.Error.Name(), kind)
		} else {
			add("visible/"+f, contract.OrNone(strings.Join(l.Names, " ")), kind)
		}
	}
	add("conntrack", strconv.FormatBool(s.Conntrack), probe.Exact)
	if n := s.Nftables; n != nil {
		if n.Error != nil {
			add("nft/error", n.Error.Name(), probe.Exact)
		} else {
			add("nft/tables", strconv.Itoa(len(n.Tables)), probe.Exact)
			total := map[string]int{}
			rules := 0
			for _, t := range n.Tables {
				add("nft/table/"+t.Family+"/"+t.Name+"/rules", strconv.Itoa(t.Rules), probe.Exact)
				rules += t.Rules
				for a, c := range t.Actions {
					total[a] += c
				}
			}
			add("nft/rules", strconv.Itoa(rules), probe.Exact)
			for a, c := range total {
				add("nft/action/"+a, strconv.Itoa(c), probe.Exact)
			}
			seen := map[string]int{}
			for _, r := range n.Rules {
				k := RuleKey(r)
				if seen[k]++; seen[k] > 1 {
					k += fmt.Sprintf(" #%d", seen[k])
				}
				add(k, r.Verdict, probe.Exact)
			}
			for _, c := range n.Chains {
				if c.Policy != "" {
					add("nft/chain/"+c.Table+"/"+c.Name+"/policy", c.Hook+" "+c.Policy, probe.Exact)
				}
			}
		}
	}
	for fam, tables := range s.Iptables {
		for _, t := range tables {
			p := "iptables/" + fam + "/" + t.Name
			if t.Error != nil {
				add(p+"/error", t.Error.Name(), probe.Exact)
				continue
			}
			add(p+"/rules", strconv.Itoa(t.Rules), probe.Exact)
			add(p+"/user-chains", strconv.Itoa(t.UserChains), probe.Exact)
			for ch, pol := range t.Policies {
				add(p+"/policy/"+ch, pol, probe.Exact)
			}
			for tg, n := range t.Targets {
				add(p+"/target/"+tg, strconv.Itoa(n), probe.Exact)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// RuleKey is a rule's fact key: "nft/rule/inet/filter/output[output]: tcp dport 443".
func RuleKey(r NftRule) string {
	m := r.Match
	if m == "" {
		m = "(every packet)"
	}
	return "nft/rule/" + r.Chain + "[" + r.Hook + "]: " + m
}
