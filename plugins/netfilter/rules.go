package netfilter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// summary is what a subject's netfilter does, over nftables and legacy iptables.
type summary struct {
	readable bool
	why      string
	rules    int
	reject   int
	drop     int
	nat      int
	policies []string // base chains whose policy is drop
}

func summarise(s *Section) summary {
	var m summary
	if s.Nftables == nil || s.Nftables.Error != nil {
		if s.Nftables != nil {
			m.why = s.Nftables.Error.Name()
		}
		return m
	}
	m.readable = true
	for _, t := range s.Nftables.Tables {
		m.rules += t.Rules
		for a, n := range t.Actions {
			m.count(a, n)
		}
	}
	for _, c := range s.Nftables.Chains {
		if c.Policy == "drop" {
			m.policies = append(m.policies, c.Table+"/"+c.Name)
		}
	}
	for fam, tables := range s.Iptables {
		for _, t := range tables {
			if t.Error != nil {
				continue
			}
			m.rules += t.Rules
			for tg, n := range t.Targets {
				m.count(tg, n)
			}
			for ch, p := range t.Policies {
				if p == "DROP" {
					m.policies = append(m.policies, "iptables/"+fam+"/"+t.Name+"/"+ch)
				}
			}
		}
	}
	sort.Strings(m.policies)
	return m
}

func (m *summary) count(action string, n int) {
	switch strings.ToLower(action) {
	case "reject":
		m.reject += n
	case "drop":
		m.drop += n
	case "dnat", "snat", "masquerade", "redirect", "netmap", "tproxy":
		m.nat += n
	}
}

// rulesRule compares the rulesets of subjects whose rules could be read. A REJECT in
// OUTPUT "with icmp net-unreachable" makes connect() fail with ENETUNREACH at once; a
// DROP makes it time out; a REDIRECT (service mesh) sends it elsewhere.
func rulesRule(c *contract.Comparison) []contract.Finding {
	sums := summaries(c)
	keys := sectionKeys(c, "nft/", "iptables/")
	var out []contract.Finding
	var readable []int
	for i, m := range sums {
		if m != nil && m.readable {
			readable = append(readable, i)
		}
	}
	if len(readable) < 2 {
		return nil
	}
	least := readable[0]
	for _, i := range readable {
		if sums[i].rules < sums[least].rules {
			least = i
		}
	}
	for _, i := range readable {
		m, base := sums[i], sums[least]
		if i == least || (m.rules == base.rules && m.reject == base.reject && m.drop == base.drop && m.nat == base.nat) {
			continue
		}
		sev := contract.Medium
		if m.reject != base.reject || m.drop != base.drop {
			sev = contract.High
		}
		out = append(out, contract.Finding{Severity: sev, Keys: keys,
			Message: fmt.Sprintf("%s has %d netfilter rules (%d REJECT, %d DROP, %d NAT/redirect) where %s has %d (%d REJECT, %d DROP, %d NAT/redirect)%s: a REJECT can fail connect() at once (ECONNREFUSED, or ENETUNREACH with icmp net-unreachable), a DROP makes it time out",
				c.Subjects[i], m.rules, m.reject, m.drop, m.nat, c.Subjects[least], base.rules, base.reject, base.drop, base.nat, onlyRules(c, i, least))})
	}
	for _, i := range readable {
		if p := strings.Join(sums[i].policies, ", "); p != strings.Join(sums[least].policies, ", ") && p != "" {
			out = append(out, contract.Finding{Severity: contract.High, Keys: keys,
				Message: fmt.Sprintf("%s has chains with policy drop (%s): traffic no rule accepts is dropped", c.Subjects[i], p)})
		}
	}
	return out
}

// maxNamedRules bounds how many rules a finding names.
const maxNamedRules = 3

// onlyRules names the nftables rules subject i has and subject j lacks:
// "; only in web-b: inet/t/output: meta l4proto tcp th dport 443 → reject".
func onlyRules(c *contract.Comparison, i, j int) string {
	var named []string
	more := 0
	for _, r := range c.Section("netfilter") {
		rest, ok := strings.CutPrefix(r.Key, "nft/rule/")
		if !ok || !r.Present(i) || r.Present(j) {
			continue
		}
		if len(named) == maxNamedRules {
			more++
			continue
		}
		head, match, _ := strings.Cut(rest, ": ")
		if k := strings.LastIndexByte(head, '['); k >= 0 {
			head = head[:k]
		}
		named = append(named, head+": "+match+" → "+r.Values[i])
	}
	if len(named) == 0 {
		return ""
	}
	if more > 0 {
		named = append(named, fmt.Sprintf("%d more", more))
	}
	return "; only " + c.Subjects[i] + " has the nftables rule " + strings.Join(named, "; ")
}

// visibilityRule: what could not be compared, and legacy tables that exist in one
// namespace only (a service-mesh init container leaves a nat table behind).
func visibilityRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	sums := summaries(c)
	var blind, seen []string
	for i, m := range sums {
		if m == nil {
			continue
		}
		if m.readable {
			seen = append(seen, c.Subjects[i])
		} else {
			blind = append(blind, fmt.Sprintf("%s (%s)", c.Subjects[i], m.why))
		}
	}
	if len(blind) > 0 && len(seen) > 0 {
		out = append(out, contract.Finding{Severity: contract.Info, Keys: []string{"netfilter/nft/error"},
			Message: "netfilter rules were read in " + strings.Join(seen, ", ") + " but not in " + strings.Join(blind, ", ") + ": listing rules needs CAP_NET_ADMIN (the netadmin profile)"})
	}
	for _, r := range c.Rows {
		if r.Section != "netfilter" || r.Equal {
			continue
		}
		switch r.Key {
		case "visible/ip_tables_names", "visible/ip6_tables_names", "visible/arp_tables_names":
			out = append(out, contract.Finding{Severity: contract.Medium, Keys: []string{r.ID()},
				Message: fmt.Sprintf("legacy iptables tables differ (%s, /proc/net/%s): something installed rules in one namespace only", contract.Values(c, r), strings.TrimPrefix(r.Key, "visible/"))})
		case "conntrack":
			out = append(out, contract.Finding{Severity: contract.Low, Keys: []string{r.ID()},
				Message: "connection tracking is active in some namespaces only (" + contract.Values(c, r) + ")"})
		}
	}
	return out
}

func summaries(c *contract.Comparison) []*summary {
	out := make([]*summary, len(c.Subjects))
	for i := range c.Subjects {
		if i >= len(c.Reports) || c.Reports[i] == nil {
			continue
		}
		var s Section
		if ok, err := c.Reports[i].Section("netfilter", &s); ok && err == nil {
			m := summarise(&s)
			out[i] = &m
		}
	}
	return out
}

func sectionKeys(c *contract.Comparison, prefixes ...string) []string {
	var keys []string
	for _, r := range c.Rows {
		if r.Section != "netfilter" || r.Equal {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(r.Key, p) {
				keys = append(keys, r.ID())
				break
			}
		}
	}
	return keys
}
