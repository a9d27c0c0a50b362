package events

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: on a probe's path lie the changes seen during the window to the links,
// addresses and routes of the device its route leaves by, and to the policy rules: a
// fact that kept changing explains results that came and went.
//
// A fact seen changing covers the snapshot of the same kind of fact that caught it in
// one state: the flap is the cause, the snapshot part of it.
var analysis = contract.Analysis{Role: contract.State, Covers: []string{"routes", "rules", "interfaces", "neighbours"}, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" {
		return nil
	}
	devs := map[string]bool{"any": true}
	for _, r := range p.Route {
		if r.Dev != "" {
			devs[r.Dev] = true
		}
	}
	var out []string
	for _, r := range c.Section(Name) {
		kind, rest, ok := strings.Cut(r.Key, "/")
		if !ok || kind == "neighbour" {
			continue
		}
		if _, dev, ok := strings.Cut(rest, "/"); ok && (devs[dev] || kind == "rule") {
			out = append(out, r.Key)
		}
	}
	return out
}}
