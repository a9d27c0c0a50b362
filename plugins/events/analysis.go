package events

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: on a probe's path lie the changes seen during the window to the links,
// addresses and routes of the device its route leaves by, and to the policy rules: a
// fact that kept changing explains results that came and went.
var analysis = diff.Analysis{Role: diff.State, Path: func(c *diff.Comparison, p *diff.Probe, i int) []string {
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
