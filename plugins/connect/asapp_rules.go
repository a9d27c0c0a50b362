package connect

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// asAppAddrs indexes a section's connects as the app by slot.
func asAppAddrs(s *Section) map[slot]*AddrResult {
	if s == nil || s.AsApp == nil {
		return nil
	}
	m := map[slot]*AddrResult{}
	for ti := range s.AsApp.Targets {
		t := &s.AsApp.Targets[ti]
		for ai := range t.Addresses {
			m[slot{t.Target, t.Addresses[ai].Key}] = &t.Addresses[ai]
		}
	}
	return m
}

// ruleFailsAsApp: in one subject a connect fails every time as the app and works every
// time as root, and the same connect as the app does not fail that way in another subject
// (it works there, or the other's app runs as root): something that selects traffic by
// its owner (a policy rule's uidrange, a netfilter owner match, a program attached to the
// app's cgroup) treats the app's connects differently. The cause is named by the path of
// the probe as the app, which runs through the rules that match the app's uid.
func ruleFailsAsApp(c *contract.Comparison) []contract.Finding {
	vs := views(c)
	asApp := make([]map[slot]*AddrResult, len(vs))
	for i, v := range vs {
		asApp[i] = asAppAddrs(v.sec)
	}
	order, root := addrs(vs)
	var out []contract.Finding
	for _, s := range order {
		for i, v := range vs {
			app := asApp[i][s]
			if app == nil || v.sec.AsApp.Identity == nil {
				continue
			}
			uid := v.sec.AsApp.Identity.UID
			var failing, keys, evidence []string
			for _, meth := range methods {
				am, rm := methodOf(app, meth), methodOf(root[s][i], meth)
				if am == nil || rm == nil || !allBad(am.Sequential) || !allOK(rm.Sequential) {
					continue
				}
				// Another subject does better as the app, or its app is root (no such row).
				var better []string
				for j := range vs {
					if j == i {
						continue
					}
					other := methodOf(asApp[j][s], meth)
					if other == nil && methodOf(root[s][j], meth) != nil && allOK(methodOf(root[s][j], meth).Sequential) ||
						other != nil && !allBad(other.Sequential) {
						better = append(better, vs[j].name)
					}
				}
				if len(better) == 0 {
					continue
				}
				failing = append(failing, human(meth))
				keys = append(keys, rowID(AsAppKey(meth, false, s.target, s.key)), rowID(RunKey(meth, false, s.target, s.key)))
				evidence = append(evidence, fmt.Sprintf("%s: %s as the app, %s as root", human(meth), am.Sequential.Format("ok"), rm.Sequential.Format("ok")))
			}
			if len(failing) == 0 {
				continue
			}
			out = append(out, contract.Finding{
				Severity: contract.Critical,
				Message: fmt.Sprintf("%s: %s connect to %s (%s %s) fails as the app (uid %d) and works as root: %s",
					v.name, strings.Join(failing, " and "), s.target, s.key, app.Address, uid, strings.Join(evidence, "; ")),
				Keys: keys,
			})
		}
	}
	return out
}
