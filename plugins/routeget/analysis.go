package routeget

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: a lookup row is a probe (ip route get), and it tells every other probe of
// the same destination which route the kernel chose: the backbone of every path.
var analysis = diff.Analysis{Role: diff.Outcome, Probes: probeOf, Annotate: annotate}

func probeOf(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	key, asApp := strings.CutPrefix(r.Key, AsAppPrefix)
	tgt, ak := diff.SplitTargetKey(key)
	scheme, port := diff.TargetPort(tgt)
	p := diff.Probe{Target: tgt, AddrKey: ak, Proto: scheme, Port: port,
		Status: diff.Statuses(r, lookupStatus)}
	if diff.IsName(tgt) {
		p.Name = diff.TargetHost(tgt)
	}
	if asApp {
		secs := diff.DecodeSections(c, Name, Decode)
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

func lookupStatus(v string) diff.Status {
	if a := ParseAnswer(v); a.Err != "" {
		return diff.ErrnoStatus(a.Err)
	}
	return diff.OK
}

// annotate fills each subject's route for the probe's destination: the lookup of the same
// target, else of any target with the same host and address key; for a probe run as the
// app, the lookups asked as the app's uid.
func annotate(c *diff.Comparison, p *diff.Probe) {
	rows := c.Section(Name)
	for i := range c.Subjects {
		if p.Route[i].Known {
			continue
		}
		host := diff.TargetHost(p.Target)
		for _, r := range rows {
			key, asApp := strings.CutPrefix(r.Key, AsAppPrefix)
			if asApp != p.AsApp {
				continue
			}
			tgt, ak := diff.SplitTargetKey(key)
			if ak != p.AddrKey || !r.Present(i) || (tgt != p.Target && diff.TargetHost(tgt) != host) {
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
func ParseAnswer(v string) diff.RouteAnswer {
	f := strings.Fields(v)
	if len(f) == 0 || v == diff.Missing {
		return diff.RouteAnswer{}
	}
	if strings.HasPrefix(f[0], "E") && len(f) == 1 {
		return diff.RouteAnswer{Known: true, Err: f[0]}
	}
	a := diff.RouteAnswer{Known: true, Type: f[0]}
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
