package nodeside

import (
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// listFelix reads Felix's endpoint chains of the veth (as iptables-nft programs them in
// the ip and ip6 filter tables) and the policy and profile chains they jump to.
func listFelix(c *nftables.Conn, chains []*nftables.Chain, veth string) *Felix {
	if veth == "" {
		return nil
	}
	byName := map[string]*nftables.Chain{}
	var queue []*nftables.Chain
	for _, ch := range chains {
		if ch.Table.Name != "filter" || ch.Table.Family != nftables.TableFamilyIPv4 && ch.Table.Family != nftables.TableFamilyIPv6 {
			continue
		}
		byName[netstate.TableKey(ch.Table)+"/"+ch.Name] = ch
		if ch.Name == FelixToPrefix+veth || ch.Name == FelixFromPrefix+veth {
			queue = append(queue, ch)
		}
	}
	if len(queue) == 0 {
		return nil
	}
	f := &Felix{Chains: []FelixChain{}}
	done := map[string]bool{}
	for len(queue) > 0 {
		ch := queue[0]
		queue = queue[1:]
		key := netstate.TableKey(ch.Table) + "/" + ch.Name
		if done[key] {
			continue
		}
		done[key] = true
		if len(f.Chains) >= MaxFelixChains {
			f.Truncated = true
			break
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			f.Error = report.ErrorOf(err)
			continue
		}
		fc := FelixChain{Table: netstate.TableKey(ch.Table), Name: ch.Name, Rules: []FelixRule{}}
		limit := MaxFelixPolicyRules
		if isFelixEndpointChain(ch.Name) {
			limit = MaxFelixRules
		}
		for _, r := range rules {
			fr := readFelixRule(r.Exprs)
			if t := fr.Target(); isFelixPolicyChain(t) {
				if next, ok := byName[fc.Table+"/"+t]; ok {
					queue = append(queue, next)
				}
			}
			if len(fc.Rules) >= limit {
				fc.Truncated = true
				continue
			}
			fc.Rules = append(fc.Rules, fr)
		}
		f.Chains = append(f.Chains, fc)
	}
	return f
}

// readFelixRule reads one iptables-nft rule: its comments (xt comment matches), its counter
// and what it ends in.
func readFelixRule(exprs []expr.Any) FelixRule {
	r := FelixRule{Verdict: netstate.RuleAction(exprs)}
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Match:
			if c, ok := e.Info.(*xt.Comment); ok && e.Name == "comment" {
				if id, ok := strings.CutPrefix(string(*c), "cali:"); ok && r.ID == "" {
					r.ID = id
				} else {
					r.Comments = append(r.Comments, string(*c))
				}
			}
		case *expr.Counter:
			r.Packets, r.Bytes = e.Packets, e.Bytes
		case *expr.Verdict:
			if e.Chain != "" {
				r.Verdict = netstate.VerdictName(e.Kind) + " " + e.Chain
			}
		}
	}
	return r
}
