package dnsconfig

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: a query to a nameserver is governed by resolv.conf; a connect to a name also
// by the name's /etc/hosts entry, nsswitch.conf's order and gai.conf's address order.
var analysis = diff.Analysis{Role: diff.State, Path: func(c *diff.Comparison, p *diff.Probe, i int) []string {
	if p.Name == "" {
		return nil
	}
	var out []string
	for _, r := range c.Section("dnsconfig") {
		switch {
		case strings.HasPrefix(r.Key, "resolv/"), strings.HasPrefix(r.Key, "nsswitch/"):
			out = append(out, r.Key)
		case diff.IsName(p.Target) && strings.HasPrefix(r.Key, "gai/"):
			out = append(out, r.Key)
		}
	}
	if diff.IsName(p.Target) {
		name := strings.ToLower(strings.TrimSuffix(p.Name, "."))
		out = append(out, "hosts/"+name)
		if short, _, ok := strings.Cut(name, "."); ok {
			out = append(out, "hosts/"+short)
		}
	}
	return out
}}
