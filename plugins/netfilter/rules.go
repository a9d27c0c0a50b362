package netfilter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/nftwords"
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
	legacy   string   // what legacy x_tables rules do: "1 REJECT rule in filter"
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
			var tgs []string
			for tg, n := range t.Targets {
				m.count(tg, n)
				tgs = append(tgs, fmt.Sprintf("%d %s %s", n, tg, contract.Plural(n, "rule", "rules")))
			}
			if len(tgs) > 0 {
				sort.Strings(tgs)
				m.legacy = strings.TrimPrefix(m.legacy+"; ", "; ") + fmt.Sprintf("%s in %s/%s", strings.Join(tgs, ", "), fam, t.Name)
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

// rulesRule names each rule one subject has and another lacks (or that does something
// else there), in the syntax that made it: `iptables -A OUTPUT …` for iptables-nft's
// rules, `nft add rule …` for native ones. The rule counts are evidence of the first
// such finding, not words of it. What a rule did to this run's probes is the
// diagnosis's to say (it knows which probes the rule explains).
func rulesRule(c *contract.Comparison) []contract.Finding {
	sums := summaries(c)
	var readable []int
	for i, m := range sums {
		if m != nil && m.readable {
			readable = append(readable, i)
		}
	}
	if len(readable) < 2 {
		return nil
	}
	var out []contract.Finding
	counted := map[int]bool{}
	for _, r := range c.Section("netfilter") {
		if r.Equal || !strings.HasPrefix(r.Key, "nft/rule/") {
			continue
		}
		for _, i := range readable {
			if !r.Present(i) {
				continue
			}
			j := -1
			for _, k := range readable {
				if k != i && (!r.Present(k) || r.Values[k] != r.Values[i]) {
					j = k
					break
				}
			}
			if j < 0 {
				continue
			}
			keys := []string{r.ID()}
			if !counted[i] {
				counted[i] = true
				keys = append(keys, countKeys(c)...)
			}
			out = append(out, contract.Finding{Severity: verdictSeverity(r.Values[i]), Subject: c.Subjects[i], Keys: keys,
				Message: ruleSentence(c, r, i, j)})
		}
	}
	// Legacy x_tables are read as counts only: name what differs in them.
	for _, i := range readable {
		least := readable[0]
		if least == i {
			least = readable[len(readable)-1]
		}
		m, base := sums[i], sums[least]
		if m.legacy == base.legacy || m.legacy == "" {
			continue
		}
		out = append(out, contract.Finding{Severity: contract.High, Subject: c.Subjects[i], Keys: sectionKeys(c, "iptables/"),
			Message: fmt.Sprintf("%s's legacy iptables has %s (%s: %s)", c.Subjects[i], m.legacy, c.Subjects[least], contract.OrNone(base.legacy))})
	}
	for _, i := range readable {
		if p := strings.Join(sums[i].policies, ", "); p != strings.Join(sums[readable[0]].policies, ", ") && p != "" {
			out = append(out, contract.Finding{Severity: contract.High, Subject: c.Subjects[i], Keys: sectionKeys(c, "nft/chain/", "iptables/"),
				Message: fmt.Sprintf("%s's chains %s have policy drop", c.Subjects[i], p)})
		}
	}
	return out
}

// countKeys are the differing summary rows (rules per table, per action).
func countKeys(c *contract.Comparison) []string {
	var keys []string
	for _, r := range c.Section("netfilter") {
		if !r.Equal && (r.Key == "nft/rules" || r.Key == "nft/tables" || strings.HasPrefix(r.Key, "nft/action/") || strings.HasPrefix(r.Key, "nft/table/")) {
			keys = append(keys, r.ID())
		}
	}
	return keys
}

func verdictSeverity(v string) contract.Severity {
	l := strings.ToLower(v)
	if strings.Contains(l, "reject") || strings.Contains(l, "drop") {
		return contract.High
	}
	return contract.Medium
}

// ruleSentence: "pod-b has `iptables -A OUTPUT -p tcp --dport 80 -j DROP` (pod-a has no
// such rule)".
func ruleSentence(c *contract.Comparison, r contract.Row, i, j int) string {
	typed := TypedRule(r.Key, r.Values[i])
	if !r.Present(j) {
		return fmt.Sprintf("%s has `%s` (%s has no such rule)", c.Subjects[i], typed, c.Subjects[j])
	}
	return fmt.Sprintf("%s has `%s` (%s: `%s`)", c.Subjects[i], typed, c.Subjects[j], TypedRule(r.Key, r.Values[j]))
}

// TypedRule is a rule row as a person types it: `iptables [-t nat] -A OUTPUT …` for a
// rule in iptables' words (the defaults iptables-save spells out left out: `-m tcp`
// before a port, `--syn`, the connlimit mask), `nft add rule inet t output …` for nft's.
func TypedRule(key, verdict string) string {
	rest := strings.TrimPrefix(key, "nft/rule/")
	head, match, _ := strings.Cut(rest, ": ")
	if k := strings.LastIndexByte(head, '['); k >= 0 {
		head = head[:k]
	}
	parts := strings.SplitN(head, "/", 3) // family, table, chain
	if len(parts) != 3 {
		return strings.TrimSpace(match + " " + verdict)
	}
	if k := strings.LastIndex(match, " #"); k >= 0 && strings.Trim(match[k+2:], "0123456789") == "" {
		match = match[:k] // the second of two alike rules
	}
	if match == "(every packet)" {
		match = ""
	}
	return nftwords.Typed(parts[0], parts[1], parts[2], match, verdict, strings.HasPrefix(verdict, "-j ") || strings.HasPrefix(verdict, "-g "))
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
