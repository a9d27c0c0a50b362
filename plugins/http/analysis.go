package http

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: each target's outcome row is a probe (its TLS and latency rows are not).
var analysis = diff.Analysis{Role: diff.Outcome, Probes: func(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	if strings.HasSuffix(r.Key, "/tls") || strings.HasSuffix(r.Key, "/verify") || strings.HasSuffix(r.Key, "/latency") {
		return diff.Probe{}, false
	}
	scheme, port := diff.TargetPort(r.Key)
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[scheme]
	}
	p := diff.Probe{Target: r.Key, AddrKey: "ipv4", Proto: "tcp", Port: port,
		Status: diff.Statuses(r, func(v string) diff.Status {
			if code, ok := strings.CutPrefix(v, "status "); ok {
				if n, _ := strconv.Atoi(code); n >= 200 && n < 400 {
					return diff.OK
				}
				return diff.FailRemote
			}
			return diff.ErrnoStatus(v)
		})}
	if diff.IsName(r.Key) {
		p.Name = diff.TargetHost(r.Key)
	}
	return p, true
}}
