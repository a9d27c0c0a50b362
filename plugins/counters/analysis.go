package counters

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// analysis: a failure counter that moved in some subjects only is a symptom of whatever
// explains those subjects' failing probes; domains narrows which causes may explain it.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	if r.Kind != probe.Counter || !failureLike.MatchString(r.Key) {
		return contract.Probe{}, false
	}
	return contract.Probe{Target: r.Key, Domains: domainsOf(r.Key), Status: contract.Statuses(r, func(v string) contract.Status {
		if v == "0" {
			return contract.OK
		}
		return contract.FailRemote
	})}, true
}}

// domainsOf: routing failures are explained by routes and rules; ICMP errors the
// namespace sent by its own netfilter; any other failure counter by any cause.
func domainsOf(key string) []string {
	switch {
	case strings.Contains(key, "OutNoRoutes"):
		return []string{"routes", "rules", "events"}
	case strings.Contains(key, "OutDestUnreachs"):
		return []string{"netfilter", "routes", "rules", "events"}
	}
	return []string{"*"}
}
