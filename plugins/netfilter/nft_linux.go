package netfilter

import (
	"fmt"
	"sort"

	"github.com/google/nftables"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
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
	for _, ch := range chains {
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
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			nc.Error = report.ErrorOf(err)
		}
		nc.Rules = len(rules)
		nt.Rules += len(rules)
		for _, r := range rules {
			nt.Actions[netstate.RuleAction(r.Exprs)]++
			if len(n.Rules) >= MaxRules {
				n.Truncated = true
				continue
			}
			m, v := describeRule(ch.Table.Family, r.Exprs)
			n.Rules = append(n.Rules, NftRule{Chain: tkey + "/" + ch.Name, Hook: nc.Hook, Match: m, Verdict: v})
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
