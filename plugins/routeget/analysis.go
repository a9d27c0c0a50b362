package routeget

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: a lookup row is a probe (ip route get), and it tells every other probe of
// the same destination which route the kernel chose: the backbone of every path.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: probeOf, Annotate: annotate}

func probeOf(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	key, asApp := strings.CutPrefix(r.Key, AsAppPrefix)
	tgt, ak := target.SplitKey(key)
	scheme, port := target.Port(tgt)
	p := contract.Probe{Target: tgt, AddrKey: ak, Proto: scheme, Port: port,
		Status: contract.Statuses(r, lookupStatus)}
	if target.IsName(tgt) {
		p.Name = target.Host(tgt)
	}
	if asApp {
		secs := contract.DecodeSections(c, Name, Decode)
		p.AsApp, p.UIDs = true, make([]int, len(c.Subjects))
		root, _ := c.Row(Name, key)
		for i, s := range secs {
			p.UIDs[i] = -1
			if s == nil || s.AsApp == nil {
				continue
			}
			p.UIDs[i] = s.AsApp.UID
			// The app runs as the prober does: root's lookup is the app's.
			if s.AsApp.Skipped != "" && !r.Present(i) && root.Present(i) {
				if p.Detail == nil {
					p.Detail = append([]string(nil), r.Values...)
				}
				p.Status[i], p.Detail[i] = lookupStatus(root.Values[i]), root.Values[i]+" (the app runs as the prober's uid)"
			}
		}
	}
	return p, true
}

func lookupStatus(v string) contract.Status {
	if a := ParseAnswer(v); a.Err != "" {
		return contract.ErrnoStatus(a.Err)
	}
	return contract.OK
}

// annotate fills each subject's route for the probe's destination: the lookup of the same
// target, else of any target with the same host and address key; for a probe run as the
// app, the lookups asked as the app's uid.
func annotate(c *contract.Comparison, p *contract.Probe) {
	rows := c.Section(Name)
	for i := range c.Subjects {
		if p.Route[i].Known {
			continue
		}
		host := target.Host(p.Target)
		for _, r := range rows {
			key, asApp := strings.CutPrefix(r.Key, AsAppPrefix)
			if asApp != p.AsApp {
				continue
			}
			tgt, ak := target.SplitKey(key)
			if ak != p.AddrKey || !r.Present(i) || (tgt != p.Target && target.Host(tgt) != host) {
				continue
			}
			p.Route[i] = ParseAnswer(r.Values[i])
			if tgt == p.Target {
				break
			}
		}
	}
}

// ParseAnswer reads what Format wrote: "unicast dev eth0 via 10.0.0.1 src <self> table
// main mtu 1400", or an errno name.
func ParseAnswer(v string) contract.RouteAnswer {
	f := strings.Fields(v)
	if len(f) == 0 || v == contract.Absent {
		return contract.RouteAnswer{}
	}
	if strings.HasPrefix(f[0], "E") && len(f) == 1 {
		return contract.RouteAnswer{Known: true, Err: f[0]}
	}
	a := contract.RouteAnswer{Known: true, Type: f[0]}
	for i := 1; i+1 < len(f); i += 2 {
		switch f[i] {
		case "dev":
			a.Dev = f[i+1]
		case "via":
			a.Via = f[i+1]
		case "src":
			a.Src = f[i+1]
		case "table":
			a.Table = f[i+1]
		case "mtu":
			a.MTU, _ = strconv.Atoi(f[i+1])
		}
	}
	return a
}
