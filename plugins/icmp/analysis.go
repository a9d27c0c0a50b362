package icmp

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: each echo row is a probe of its address.
var analysis = diff.Analysis{Role: diff.Outcome, Probes: func(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	if strings.HasSuffix(r.Key, "/method") || strings.HasSuffix(r.Key, "/rtt") {
		return diff.Probe{}, false
	}
	tgt, ak := diff.SplitTargetKey(r.Key)
	p := diff.Probe{Target: tgt, AddrKey: ak, Proto: "icmp",
		Status: diff.Statuses(r, func(v string) diff.Status { return diff.RunStatus(v, "ok") })}
	if diff.IsName(tgt) {
		p.Name = diff.TargetHost(tgt)
	}
	return p, true
}}
