package dnsconfig

import (
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
			out = append(out, finding(contract.Medium, "dnsconfig/resolv", fmt.Sprintf("%s differs (%s): names with fewer dots than ndots are tried with each search domain first, so lookups differ in what is queried and how long it takes", strings.TrimPrefix(r.Key, "resolv/"), contract.Values(c, r)), r))
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

func finding(sev contract.Severity, rule, msg string, r contract.Row) contract.Finding {
	return contract.Finding{Severity: sev, Rule: rule, Message: msg, Keys: []string{r.ID()}}
}
