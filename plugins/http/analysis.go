package http

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: each target's outcome row is a probe (its TLS and latency rows are not).
var analysis = contract.Analysis{Role: contract.Outcome, Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	if strings.HasSuffix(r.Key, "/tls") || strings.HasSuffix(r.Key, "/verify") || strings.HasSuffix(r.Key, "/latency") {
		return contract.Probe{}, false
	}
	scheme, port := target.Port(r.Key)
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[scheme]
	}
	p := contract.Probe{Target: r.Key, AddrKey: "ipv4", Proto: "tcp", Port: port,
		Status: contract.Statuses(r, func(v string) contract.Status {
			if code, ok := strings.CutPrefix(v, "status "); ok {
				if n, _ := strconv.Atoi(code); n >= 200 && n < 400 {
					return contract.OK
				}
				return contract.FailRemote
			}
			return contract.ErrnoStatus(v)
		})}
	if target.IsName(r.Key) {
		p.Name = target.Host(r.Key)
	}
	return p, true
}}
