package netfilter

import (
	"fmt"
	"sort"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/nftwords"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// listNft reads the ruleset of the current network namespace.
func listNft() *Nft {
	n := &Nft{Tables: []NftTable{}, Chains: []NftChain{}}
	c, tables, chains, err := netstate.OpenRuleset()
	if err != nil {
		n.Error = report.ErrorOf(err)
		return n
	}
	defer c.CloseLasting()
	byTable := map[string]*NftTable{}
	for _, t := range tables {
		nt := &NftTable{Family: netstate.TableFamilyName(t.Family), Name: t.Name, Actions: map[string]int{}}
		byTable[netstate.TableKey(t)] = nt
	}
	sort.Slice(chains, func(i, j int) bool {
		a, b := chains[i], chains[j]
		if a.Table.Name != b.Table.Name {
			return a.Table.Name < b.Table.Name
		}
		return a.Name < b.Name
	})
	rulesOf := make([][]*nftables.Rule, len(chains))
	errs := make([]error, len(chains))
	xtTables := map[string]bool{}
	for k, ch := range chains {
		rulesOf[k], errs[k] = c.GetRules(ch.Table, ch)
		if iptablesNftChain(ch, rulesOf[k]) {
			xtTables[netstate.TableKey(ch.Table)] = true
		}
	}
	for k, ch := range chains {
		tkey := netstate.TableKey(ch.Table)
		nt := byTable[tkey]
		if nt == nil {
			continue
		}
		nt.Chains++
		nc := NftChain{Table: tkey, Name: ch.Name, Type: string(ch.Type)}
		if ch.Hooknum != nil {
			nc.Hook = hookName(ch.Table.Family, uint32(*ch.Hooknum))
		}
		if ch.Priority != nil {
			p := int32(*ch.Priority)
			nc.Priority = &p
		}
		if ch.Policy != nil && ch.Hooknum != nil {
			nc.Policy = map[nftables.ChainPolicy]string{nftables.ChainPolicyDrop: "drop", nftables.ChainPolicyAccept: "accept"}[*ch.Policy]
		}
		rules := rulesOf[k]
		if errs[k] != nil {
			nc.Error = report.ErrorOf(errs[k])
		}
		nc.Rules = len(rules)
		nt.Rules += len(rules)
		for _, r := range rules {
			nt.Actions[netstate.RuleAction(r.Exprs)]++
			if len(n.Rules) >= MaxRules {
				n.Truncated = true
				continue
			}
			n.Rules = append(n.Rules, ruleOf(ch, r.Exprs, xtTables[tkey]))
		}
		if len(n.Chains) < MaxChains {
			n.Chains = append(n.Chains, nc)
		} else {
			n.Truncated = true
		}
	}
	for _, t := range tables {
		n.Tables = append(n.Tables, *byTable[netstate.TableKey(t)])
	}
	sort.Slice(n.Tables, func(i, j int) bool {
		return n.Tables[i].Family+"/"+n.Tables[i].Name < n.Tables[j].Family+"/"+n.Tables[j].Name
	})
	return n
}

func hookName(f nftables.TableFamily, h uint32) string {
	if f == nftables.TableFamilyNetdev {
		return map[uint32]string{0: "ingress", 1: "egress"}[h]
	}
	if n, ok := map[uint32]string{0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting", 5: "ingress"}[h]; ok {
		return n
	}
	return fmt.Sprintf("hook-%d", h)
}

// ruleOf describes one rule: in iptables-save's words where its table is iptables-nft's
// and the rule reads as one iptables-nft wrote, else in nft's.
func ruleOf(ch *nftables.Chain, exprs []expr.Any, iptablesTable bool) NftRule {
	r := NftRule{Chain: netstate.TableKey(ch.Table) + "/" + ch.Name}
	if ch.Hooknum != nil {
		r.Hook = hookName(ch.Table.Family, uint32(*ch.Hooknum))
	}
	if iptablesTable {
		if m, t, ok := nftwords.Iptables(ch.Table.Family, exprs, nftwords.IpsetName); ok {
			r.Match, r.Verdict, r.Syntax = m, t, SyntaxIptables
			return r
		}
	}
	r.Match, r.Verdict = nftwords.Nft(ch.Table.Family, exprs)
	return r
}

// iptablesNftChain tells a chain of a table iptables-nft made: nft's own test (a table
// with xt expressions is "managed by iptables-nft"), or an ip/ip6 table of iptables'
// names holding a chain of iptables' built-in names.
func iptablesNftChain(ch *nftables.Chain, rules []*nftables.Rule) bool {
	f := ch.Table.Family
	if f != nftables.TableFamilyIPv4 && f != nftables.TableFamilyIPv6 {
		return false
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			switch e.(type) {
			case *expr.Match, *expr.Target:
				return true
			}
		}
	}
	switch ch.Table.Name {
	case "filter", "nat", "mangle", "raw", "security":
		switch ch.Name {
		case "INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING":
			return true
		}
	}
	return false
}
