package connect

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: every connect row is a probe (a method's run, a path MTU, a UDP probe, a
// name's resolution); it also annotates probes of name targets with their addresses.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: probeOf}

func probeOf(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	k := r.Key
	switch {
	case strings.HasSuffix(k, "/latency"):
		return contract.Probe{}, false
	case strings.HasPrefix(k, "resolve/"):
		tgt := strings.TrimPrefix(k, "resolve/")
		scheme, port := target.Port(tgt)
		return contract.Probe{Target: tgt, Proto: scheme, Port: port, Name: target.Host(tgt),
			Status: contract.Statuses(r, func(v string) contract.Status {
				if strings.HasPrefix(v, "error ") || v == "no addresses" {
					return contract.FailRemote
				}
				return contract.OK
			})}, true
	case strings.HasPrefix(k, "udp/"):
		tgt, ak := target.SplitKey(strings.TrimPrefix(k, "udp/"))
		return newProbe(tgt, ak, "udp", contract.Statuses(r, func(v string) contract.Status { return contract.RunStatus(v, "reply") })), true
	case strings.HasPrefix(k, "tcp/pmtu/"):
		tgt, ak := target.SplitKey(strings.TrimPrefix(k, "tcp/pmtu/"))
		return newProbe(tgt, ak, "tcp", pmtuStatus(r)), true
	case strings.HasPrefix(k, "tcp/"):
		method, rest, _ := strings.Cut(strings.TrimPrefix(k, "tcp/"), "/")
		tgt, ak := target.SplitKey(rest)
		p := newProbe(tgt, ak, "tcp", contract.Statuses(r, func(v string) contract.Status { return contract.RunStatus(v, "ok") }))
		p.Burst = strings.Contains(method, "-burst")
		if strings.HasSuffix(method, AsAppSuffix) {
			p.AsApp, p.UIDs = true, appUIDs(c)
			asRoot(c, r, "tcp/"+strings.TrimSuffix(method, AsAppSuffix)+"/"+rest, &p)
		}
		return p, true
	}
	return contract.Probe{}, false
}

// asRoot fills in, for a subject whose app runs as the prober's own uid (no probe ran as
// the app: root's connects are the app's), the status of root's row, so a pod whose app
// is root counts as doing better or worse as the app than one whose app is not.
func asRoot(c *contract.Comparison, r contract.Row, rootKey string, p *contract.Probe) {
	status, ok := c.Row(Name, AsAppStatusKey)
	root, ok2 := c.Row(Name, rootKey)
	if !ok || !ok2 {
		return
	}
	for i := range p.Status {
		if r.Present(i) || !status.Present(i) || !root.Present(i) || !strings.HasPrefix(status.Values[i], "not run: "+sameUID) {
			continue
		}
		if p.Detail == nil {
			p.Detail = append([]string(nil), r.Values...)
		}
		p.Status[i] = contract.RunStatus(root.Values[i], "ok")
		p.Detail[i] = root.Values[i] + " (the app runs as the prober's uid)"
	}
}

// appUIDs is the uid each subject's probes as the app ran as, -1 where unknown.
func appUIDs(c *contract.Comparison) []int {
	out := make([]int, len(c.Subjects))
	r, ok := c.Row(Name, AsAppIdentityKey)
	for i := range out {
		out[i] = -1
		if ok && r.Present(i) {
			if uid, ok := ParseUID(r.Values[i]); ok {
				out[i] = uid
			}
		}
	}
	return out
}

// ParseUID reads the uid of an identity fact ("uid 1000 gid 1000 groups -").
func ParseUID(v string) (int, bool) {
	f := strings.Fields(v)
	if len(f) < 2 || f[0] != "uid" {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil && n >= 0
}

func newProbe(tgt, addrKey, proto string, st []contract.Status) contract.Probe {
	_, port := target.Port(tgt)
	p := contract.Probe{Target: tgt, AddrKey: addrKey, Proto: proto, Port: port, Status: st}
	if target.IsName(tgt) {
		p.Name = target.Host(tgt)
	}
	return p
}

// pmtuStatus: the largest path MTU is the healthy one; a smaller one is a symptom; an
// unknown one (no connect succeeded) is the connects' symptom, not its own.
func pmtuStatus(r contract.Row) []contract.Status {
	best := 0
	for i, v := range r.Values {
		if n, err := strconv.Atoi(v); err == nil && r.Present(i) && n > best {
			best = n
		}
	}
	return contract.Statuses(r, func(v string) contract.Status {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return contract.Unknown
		case n < best:
			return contract.FailRemote
		}
		return contract.OK
	})
}
