package routeget

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// ruleLookupFails: the kernel has no usable route for a target in one subject but has one
// in another; every connect there will fail with the same errno.
func ruleLookupFails(c *contract.Comparison) []contract.Finding {
	type cell struct {
		subject int
		l       Lookup
	}
	byKey := map[string][]cell{}
	uid := map[int]int{}
	for i, s := range contract.DecodeSections(c, Name, Decode) {
		if s == nil {
			continue
		}
		for _, l := range s.Lookups {
			byKey[l.FactKey()] = append(byKey[l.FactKey()], cell{i, l})
		}
		if s.AsApp != nil {
			uid[i] = s.AsApp.UID
			for _, l := range s.AsApp.Lookups {
				byKey[AsAppPrefix+l.FactKey()] = append(byKey[AsAppPrefix+l.FactKey()], cell{i, l})
			}
		}
	}
	keys := slices.Sorted(maps.Keys(byKey))
	var out []contract.Finding
	for _, k := range keys {
		var working []string
		for _, c2 := range byKey[k] {
			if c2.l.Error == nil && c2.l.Route != nil {
				working = append(working, fmt.Sprintf("%s: %s", c.Subjects[c2.subject], c2.l.Format()))
			}
		}
		if len(working) == 0 {
			continue
		}
		for _, c2 := range byKey[k] {
			if c2.l.Error == nil || c2.l.Resolve != nil {
				continue
			}
			sel := ""
			if c2.l.IPProto != "" {
				sel = " ipproto " + c2.l.IPProto
				if c2.l.Dport > 0 {
					sel += fmt.Sprintf(" dport %d", c2.l.Dport)
				}
			}
			as := ""
			if strings.HasPrefix(k, AsAppPrefix) {
				sel += fmt.Sprintf(" uid %d", uid[c2.subject])
				as = fmt.Sprintf(" as the app (uid %d)", uid[c2.subject])
			}
			// The errno first, so a line cut under its cause keeps it.
			out = append(out, contract.Finding{
				Severity: contract.Critical,
				Message: fmt.Sprintf("%s: `ip route get %s%s`%s fails with %s (%s)",
					c.Subjects[c2.subject], c2.l.Address, sel, as, c2.l.Error.Name(), strings.Join(working, ", ")),
				Detail: "the route lookup failed before any packet was sent: the routes and the policy rules decide it",
				Keys:   []string{Name + "/" + k},
			})
		}
	}
	return out
}
