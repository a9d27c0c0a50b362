package nodeside

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/nftwords"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// listNetfilter reads the ruleset of this namespace and keeps the rules naming the pod,
// and Felix's chains for its veth.
func listNetfilter(ips []netip.Addr, veth, procNet string) (*Netfilter, *Felix) {
	n := &Netfilter{Rules: []Rule{}}
	if b, err := os.ReadFile(filepath.Join(procNet, "ip_tables_names")); err == nil && len(netstate.ParseNames(b, 1)) > 0 {
		n.Note = "legacy iptables tables exist here; only nftables rules (iptables-nft's included) are searched for the pod"
	}
	c, tables, chains, err := netstate.OpenRuleset()
	if err != nil {
		n.Error = report.ErrorOf(err)
		return n, nil
	}
	defer c.CloseLasting()
	podSets := map[string]map[string]bool{} // table key → sets holding a pod IP
	for _, t := range tables {
		podSets[netstate.TableKey(t)] = setsHolding(c, t, ips)
	}
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			continue
		}
		for _, r := range rules {
			m := Mentions(r.Exprs, ips, veth, podSets[netstate.TableKey(ch.Table)])
			if len(m) == 0 {
				continue
			}
			n.Total++
			if len(n.Rules) >= MaxRules {
				n.Truncated = true
				continue
			}
			n.Rules = append(n.Rules, Rule{Table: netstate.TableKey(ch.Table), Chain: ch.Name, Handle: r.Handle, Action: netstate.RuleAction(r.Exprs), Target: target(r.Exprs), Words: words(ch, r.Exprs), Mentions: m})
		}
	}
	return n, listFelix(c, chains, veth)
}

// setsHolding names the table's sets that have a pod IP as an element (kube-proxy's nft
// mode and Calico keep addresses in sets). Interval and concatenated sets are not read.
func setsHolding(c *nftables.Conn, t *nftables.Table, ips []netip.Addr) map[string]bool {
	out := map[string]bool{}
	sets, err := c.GetSets(t)
	if err != nil {
		return out
	}
	for _, s := range sets {
		if s.Interval || s.Concatenation {
			continue
		}
		els, err := c.GetSetElements(s)
		if err != nil {
			continue
		}
		for _, e := range els {
			if isPodIP(e.Key, ips) {
				out[s.Name] = true
				break
			}
		}
	}
	return out
}

// Mentions tells how a rule's expressions name the pod: a comparison with one of its IPs
// (iptables-nft's -s/-d, nft's ip saddr/daddr), with its veth's name (-i/-o, iifname/
// oifname; a wildcard prefix like "veth+" is not a mention), or a lookup in a set that
// holds a pod IP.
func Mentions(exprs []expr.Any, ips []netip.Addr, veth string, podSets map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Cmp:
			if e.Op != expr.CmpOpEq && e.Op != expr.CmpOpNeq {
				continue
			}
			if isPodIP(e.Data, ips) {
				add("ip")
			} else if veth != "" && isIfname(e.Data, veth) {
				add("veth")
			}
		case *expr.Lookup:
			if podSets[e.SetName] {
				add("set:" + e.SetName)
			}
		}
	}
	return out
}

// target is the chain a rule's jump or goto enters.
func target(exprs []expr.Any) string {
	for _, e := range exprs {
		if v, ok := e.(*expr.Verdict); ok && v.Chain != "" {
			return v.Chain
		}
	}
	return ""
}

// iptablesTables are the tables iptables-nft makes, by their names.
var iptablesTables = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

// words is a rule as typed: in iptables' words where its table is one iptables-nft made
// and the rule reads as one it wrote, else in nft's.
func words(ch *nftables.Chain, exprs []expr.Any) string {
	fam, table, _ := strings.Cut(netstate.TableKey(ch.Table), "/")
	if (ch.Table.Family == nftables.TableFamilyIPv4 || ch.Table.Family == nftables.TableFamilyIPv6) && iptablesTables[table] {
		if m, t, ok := nftwords.Iptables(ch.Table.Family, exprs, nftwords.IpsetName); ok {
			return nftwords.Typed(fam, table, ch.Name, m, t, true)
		}
	}
	m, v := nftwords.Nft(ch.Table.Family, exprs)
	return nftwords.Typed(fam, table, ch.Name, m, v, false)
}
