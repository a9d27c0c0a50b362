package icmp

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: each echo row is a probe of its address.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	if strings.HasSuffix(r.Key, "/method") || strings.HasSuffix(r.Key, "/rtt") {
		return contract.Probe{}, false
	}
	tgt, ak := contract.SplitTargetKey(r.Key)
	p := contract.Probe{Target: tgt, AddrKey: ak, Proto: "icmp",
		Status: contract.Statuses(r, func(v string) contract.Status { return contract.RunStatus(v, "ok") })}
	if contract.IsName(tgt) {
		p.Name = contract.TargetHost(tgt)
	}
	return p, true
}}
