package neighbours

import (
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: on a probe's path lies the neighbour entry of its route's gateway.
var analysis = diff.Analysis{Role: diff.State, Path: func(c *diff.Comparison, p *diff.Probe, i int) []string {
	var out []string
	for _, r := range p.Route {
		if r.Dev != "" && r.Via != "" {
			out = append(out, r.Dev+"/"+r.Via, r.Dev+"/"+r.Via+"/state")
		}
	}
	return out
}}
