package icmp

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: each echo row is a probe of its address.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	if strings.HasSuffix(r.Key, "/method") || strings.HasSuffix(r.Key, "/rtt") {
		return contract.Probe{}, false
	}
	tgt, ak := target.SplitKey(r.Key)
	p := contract.Probe{Target: tgt, AddrKey: ak, Proto: "icmp",
		Status: contract.Statuses(r, func(v string) contract.Status { return contract.RunStatus(v, "ok") })}
	if target.IsName(tgt) {
		p.Name = target.Host(tgt)
	}
	return p, true
}}
