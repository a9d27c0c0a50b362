package dnsconfig

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// resolvRule explains resolv.conf differences: other nameservers (or none readable) send
// queries elsewhere; search and ndots change which names are tried and how many queries
// a lookup costs.
func resolvRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Rows {
		if r.Section != "dnsconfig" || r.Equal {
			continue
		}
		switch r.Key {
		case "resolv/nameservers":
			out = append(out, finding(contract.High, "dnsconfig/resolv", "the target processes use different nameservers: "+contract.Values(c, r), r))
		case "resolv/error":
			out = append(out, finding(contract.High, "dnsconfig/resolv", "/etc/resolv.conf could not be read in every subject ("+contract.Values(c, r)+"): without it the resolver falls back to 127.0.0.1", r))
		case "resolv/search", "resolv/ndots":
			out = append(out, searchFindings(c, r)...)
		case "resolv/options":
			out = append(out, finding(contract.Low, "dnsconfig/resolv", "resolver options differ: "+contract.Values(c, r), r))
		}
	}
	return out
}

// hostsRule reports /etc/hosts names that resolve differently. Each pod's own hostname
// line (kubelet writes "<pod IP> <pod name>") differs by nature and is left out.
func hostsRule(c *contract.Comparison) []contract.Finding {
	own := map[string]bool{}
	for _, rep := range c.Reports {
		if rep != nil && rep.Hostname != "" {
			own[strings.ToLower(rep.Hostname)] = true
		}
	}
	var keys, names []string
	for _, r := range c.Rows {
		if r.Section != "dnsconfig" || r.Equal || !strings.HasPrefix(r.Key, "hosts/") || r.Key == "hosts/(total)" {
			continue
		}
		name := strings.TrimPrefix(r.Key, "hosts/")
		if own[name] || own[strings.SplitN(name, ".", 2)[0]] {
			continue
		}
		if r.Key == "hosts/error" {
			continue
		}
		keys = append(keys, r.ID())
		if len(names) < 5 {
			names = append(names, fmt.Sprintf("%s (%s)", name, contract.Values(c, r)))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	more := ""
	if len(keys) > len(names) {
		more = fmt.Sprintf(" and %d more", len(keys)-len(names))
	}
	return []contract.Finding{{
		Severity: contract.Medium,
		Message:  fmt.Sprintf("/etc/hosts maps %s%s", strings.Join(names, "; "), more),
		Detail:   "/etc/hosts entries win over DNS for the names they hold",
		Keys:     keys,
	}}
}

// lookupOrderRule covers nsswitch's hosts line and gai.conf's address order: the same
// DNS answer can be tried IPv6-first in one pod and IPv4-first in the other.
func lookupOrderRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Rows {
		if r.Section != "dnsconfig" || r.Equal {
			continue
		}
		switch r.Key {
		case "gai/prefers":
			out = append(out, finding(contract.Medium, "dnsconfig/lookup-order", "getaddrinfo sorts a different family first ("+contract.Values(c, r)+", from /etc/gai.conf): a name with A and AAAA records is connected over IPv4 in one and IPv6 in the other (glibc only; musl ignores gai.conf)", r))
		case "gai/precedence":
			// Explained by gai/prefers when the family order changes; only shown otherwise.
		case "nsswitch/hosts":
			out = append(out, finding(contract.Medium, "dnsconfig/lookup-order", "nsswitch.conf looks up host names from different sources: "+contract.Values(c, r), r))
		case "nsswitch/error":
			out = append(out, finding(contract.Low, "dnsconfig/lookup-order", "nsswitch.conf differs in presence ("+contract.Values(c, r)+"): glibc then uses its built-in default, musl never reads it", r))
		}
	}
	return out
}

// searchFindings words a search list or ndots that differs, once for each subject, as the
// line of its resolv.conf (`search a.svc.cluster.local svc.cluster.local`, `options
// ndots:1`) beside another subject's: the diagnosis takes the one of the subject whose
// lookups fail, the other's is context there.
func searchFindings(c *contract.Comparison, r contract.Row) []contract.Finding {
	secs := contract.DecodeSections(c, Name, func(raw json.RawMessage) (*Section, error) {
		var s Section
		return &s, json.Unmarshal(raw, &s)
	})
	line := func(i int) string {
		if i >= len(secs) || secs[i] == nil || secs[i].ResolvConf.Config == nil {
			return ""
		}
		conf := secs[i].ResolvConf.Config
		if r.Key == "resolv/ndots" {
			if _, ok := conf.Option("ndots"); !ok {
				return "no ndots option (ndots:1)"
			}
			return fmt.Sprintf("`options ndots:%d`", conf.Ndots())
		}
		if len(conf.Search) == 0 {
			return "no search line"
		}
		return "`search " + strings.Join(conf.Search, " ") + "`"
	}
	var out []contract.Finding
	for i := range c.Subjects {
		li := line(i)
		if li == "" || !r.Present(i) {
			continue
		}
		for j := range c.Subjects {
			lj := line(j)
			if j == i || lj == "" || !r.Present(j) || r.Values[j] == r.Values[i] {
				continue
			}
			effect, answered := lookupEffect(c, i, j)
			f := finding(contract.Medium, "dnsconfig/resolv", fmt.Sprintf("%s's resolv.conf has %s (%s: %s)%s", c.Subjects[i], li, c.Subjects[j], lj, effect), r)
			f.Subject = c.Subjects[i]
			f.Detail = answered + "a name with fewer dots than ndots is tried with each search domain in order, then as is; one with at least ndots dots as is first (glibc then tries the search domains, musl does not)"
			out = append(out, f)
			break
		}
	}
	return out
}

// dnsSection is the dns section's name; its "lookup/NAME" rows (docs/sections/dns.md) are
// the resolver's lookups of a name through the search list: the outcome, and in
// "lookup/NAME/tried" each candidate with its answer, "NAME. RESULT; …".
const dnsSection = "dns"

// lookupEffect says what the search list or ndots did in subject i: a name whose lookup
// finds no address there while subject j's finds one, the two having tried other names.
// The detail says which candidate answered in subject j.
func lookupEffect(c *contract.Comparison, i, j int) (string, string) {
	var names []string
	answered, result := "", ""
	for _, r := range c.Section(dnsSection) {
		name, ok := strings.CutPrefix(r.Key, "lookup/")
		if !ok || strings.Contains(name, "/") || !r.Present(i) || !r.Present(j) || resolved(r.Values[i]) || !resolved(r.Values[j]) {
			continue
		}
		tried, ok := c.Row(dnsSection, r.Key+"/tried")
		if !ok || !tried.Present(i) || !tried.Present(j) || triedNames(tried.Values[i]) == triedNames(tried.Values[j]) {
			continue // the same names asked: not the search list's doing
		}
		if len(names) == 0 {
			parts := strings.Split(tried.Values[j], "; ")
			answered, _, _ = strings.Cut(parts[len(parts)-1], " ")
			result = r.Values[i]
		}
		names = append(names, name)
	}
	detail := fmt.Sprintf("%s's lookup of %s answers as %s; ", c.Subjects[j], names0(names), answered)
	switch len(names) {
	case 0:
		return "", ""
	case 1:
		return fmt.Sprintf(": the lookup of %s finds no address (%s)", names[0], result), detail
	}
	return fmt.Sprintf(": the lookups of %s and %s find no address", names[0], contract.Count(len(names)-1, "more name", "more names")), detail
}

func names0(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func resolved(v string) bool {
	return strings.HasPrefix(v, "NOERROR") && !strings.HasPrefix(v, "NOERROR (no answers)")
}

// triedNames is the candidates of a "tried" value without their answers.
func triedNames(v string) string {
	var out []string
	for _, p := range strings.Split(v, "; ") {
		n, _, _ := strings.Cut(p, " ")
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

func finding(sev contract.Severity, rule, msg string, r contract.Row) contract.Finding {
	return contract.Finding{Severity: sev, Rule: rule, Message: msg, Keys: []string{r.ID()}}
}
