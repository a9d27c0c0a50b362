package dnsconfig

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: a connect to a name is governed by resolv.conf (which servers, the search
// list, ndots, options), nsswitch.conf's order, the name's /etc/hosts entry and gai.conf's
// address order. A query the prober sends to a nameserver itself (the dns section: an
// absolute name to an address) only by which servers resolv.conf names: the search list
// and ndots never touch it. The resolver's lookup of a name through the search list
// (dns://NAME) by resolv.conf alone.
var analysis = contract.Analysis{Role: contract.State, Hop: func(contract.Row) contract.Hop { return contract.HopSocket }, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Name == "" {
		return nil
	}
	var out []string
	for _, r := range c.Section("dnsconfig") {
		switch {
		case strings.HasPrefix(p.Target, "dns://"):
			// The resolver's own lookup (the dns section's search walk): resolv.conf only;
			// it reads neither /etc/hosts nor nsswitch.conf.
			if strings.HasPrefix(r.Key, "resolv/") {
				out = append(out, r.Key)
			}
		case !target.IsName(p.Target):
			if strings.HasPrefix(r.Key, "resolv/nameserver") || r.Key == "resolv/error" {
				out = append(out, r.Key)
			}
		case strings.HasPrefix(r.Key, "resolv/"), strings.HasPrefix(r.Key, "nsswitch/"):
			out = append(out, r.Key)
		case target.IsName(p.Target) && strings.HasPrefix(r.Key, "gai/"):
			out = append(out, r.Key)
		}
	}
	if target.IsName(p.Target) && !strings.HasPrefix(p.Target, "dns://") {
		name := strings.ToLower(strings.TrimSuffix(p.Name, "."))
		out = append(out, "hosts/"+name)
		if short, _, ok := strings.Cut(name, "."); ok {
			out = append(out, "hosts/"+short)
		}
	}
	return out
}}
