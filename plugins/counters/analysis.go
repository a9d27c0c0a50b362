package counters

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// analysis: a failure counter that moved in some subjects only is a symptom of whatever
// explains those subjects' failing probes; domains narrows which causes may explain it.
var analysis = diff.Analysis{Role: diff.Outcome, Probes: func(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	if r.Kind != probe.Counter || !failureLike.MatchString(r.Key) {
		return diff.Probe{}, false
	}
	return diff.Probe{Target: r.Key, Domains: domainsOf(r.Key), Status: diff.Statuses(r, func(v string) diff.Status {
		if v == "0" {
			return diff.OK
		}
		return diff.FailRemote
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
