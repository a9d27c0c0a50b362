package connect

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: every connect row is a probe (a method's run, a path MTU, a UDP probe, a
// name's resolution); it also annotates probes of name targets with their addresses.
var analysis = diff.Analysis{Role: diff.Outcome, Probes: probeOf}

func probeOf(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	k := r.Key
	switch {
	case strings.HasSuffix(k, "/latency"):
		return diff.Probe{}, false
	case strings.HasPrefix(k, "resolve/"):
		tgt := strings.TrimPrefix(k, "resolve/")
		scheme, port := diff.TargetPort(tgt)
		return diff.Probe{Target: tgt, Proto: scheme, Port: port, Name: diff.TargetHost(tgt),
			Status: diff.Statuses(r, func(v string) diff.Status {
				if strings.HasPrefix(v, "error ") || v == "no addresses" {
					return diff.FailRemote
				}
				return diff.OK
			})}, true
	case strings.HasPrefix(k, "udp/"):
		tgt, ak := diff.SplitTargetKey(strings.TrimPrefix(k, "udp/"))
		return newProbe(tgt, ak, "udp", diff.Statuses(r, func(v string) diff.Status { return diff.RunStatus(v, "reply") })), true
	case strings.HasPrefix(k, "tcp/pmtu/"):
		tgt, ak := diff.SplitTargetKey(strings.TrimPrefix(k, "tcp/pmtu/"))
		return newProbe(tgt, ak, "tcp", pmtuStatus(r)), true
	case strings.HasPrefix(k, "tcp/"):
		_, rest, _ := strings.Cut(strings.TrimPrefix(k, "tcp/"), "/")
		tgt, ak := diff.SplitTargetKey(rest)
		return newProbe(tgt, ak, "tcp", diff.Statuses(r, func(v string) diff.Status { return diff.RunStatus(v, "ok") })), true
	}
	return diff.Probe{}, false
}

func newProbe(tgt, addrKey, proto string, st []diff.Status) diff.Probe {
	_, port := diff.TargetPort(tgt)
	p := diff.Probe{Target: tgt, AddrKey: addrKey, Proto: proto, Port: port, Status: st}
	if diff.IsName(tgt) {
		p.Name = diff.TargetHost(tgt)
	}
	return p
}

// pmtuStatus: the largest path MTU is the healthy one; a smaller one is a symptom; an
// unknown one (no connect succeeded) is the connects' symptom, not its own.
func pmtuStatus(r diff.Row) []diff.Status {
	best := 0
	for i, v := range r.Values {
		if n, err := strconv.Atoi(v); err == nil && r.Present(i) && n > best {
			best = n
		}
	}
	return diff.Statuses(r, func(v string) diff.Status {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return diff.Unknown
		case n < best:
			return diff.FailRemote
		}
		return diff.OK
	})
}
