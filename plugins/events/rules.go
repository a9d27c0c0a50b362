package events

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// group is one kind of change on one device, e.g. routes on eth0.
type group struct{ kind, dev string }

// churnRule reports subjects whose links, addresses, routes or rules changed during the
// window while another subject's did not: something rewrites the network under the app
// (the case study's intermittent ENETUNREACH). Two or more changes are a flap (High), a
// single one is Low; neighbour updates count only from neighThreshold on (Medium), since
// any traffic makes some.
func churnRule(c *contract.Comparison) []contract.Finding {
	windows := windowsOf(c)
	counts := map[group][]map[string]int{} // per subject: action → count
	keys := map[group][]string{}
	for _, r := range c.Rows {
		if r.Section != Name {
			continue
		}
		parts := strings.Split(r.Key, "/")
		if len(parts) != 3 || !slices.Contains(Kinds, parts[0]) {
			continue
		}
		g := group{parts[0], parts[2]}
		if counts[g] == nil {
			counts[g] = make([]map[string]int, len(c.Subjects))
		}
		keys[g] = append(keys[g], r.ID())
		for i, v := range r.Values {
			if i >= len(c.Subjects) || (i < len(r.Missing) && r.Missing[i]) {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				continue
			}
			if counts[g][i] == nil {
				counts[g][i] = map[string]int{}
			}
			counts[g][i][parts[1]] += n
		}
	}
	groups := make([]group, 0, len(counts))
	for g := range counts {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].kind != groups[j].kind {
			return groups[i].kind < groups[j].kind
		}
		return groups[i].dev < groups[j].dev
	})
	var out []contract.Finding
	for _, g := range groups {
		threshold, sev := 1, contract.High
		if g.kind == "neighbour" {
			threshold, sev = neighThreshold, contract.Medium
		}
		flapped := func(i int) bool { return g.kind == "neighbour" || sum(counts[g][i]) >= 2 }
		var moved, still []int
		for i := range c.Subjects {
			if windows[i] < 0 {
				continue // no watch in this report: its silence says nothing
			}
			if sum(counts[g][i]) >= threshold {
				moved = append(moved, i)
			} else {
				still = append(still, i)
			}
		}
		if len(moved) == 0 || len(still) == 0 {
			continue
		}
		sort.Strings(keys[g])
		var quiet []string
		for _, i := range still {
			quiet = append(quiet, c.Subjects[i])
		}
		stillText := "none in " + strings.Join(quiet, ", ")
		if threshold > 1 {
			stillText = fmt.Sprintf("fewer than %d in %s", threshold, strings.Join(quiet, ", "))
		}
		for _, i := range moved {
			sev, kind := sev, contract.Cause
			if !flapped(i) {
				sev = contract.Low // changed once: worth a line, not yet a flap
			}
			counted := fmt.Sprintf("%s saw %s%s during the probe window (%s)", c.Subjects[i], describe(g.kind, counts[g][i]), onDev(g.dev), windowText(windows[i]))
			msg, detail := counted+"; "+stillText, ""
			if obj, often := mostChanged(c, i, g, windows[i]); obj != "" {
				// The object that changed is what a person looks at; the counts are detail.
				msg, detail = fmt.Sprintf("%s's %s while probed (%s)", c.Subjects[i], obj, stillText), counted+"; "+often
			}
			if counts[g][i]["del"] == 0 && (g.kind == "address" || g.kind == "route") {
				// Only additions: the namespace was still being set up while it was probed.
				sev, kind = contract.Low, contract.Context
				msg += ": its network was still being configured while it was probed, so failures during the window may be transient; rerun to confirm"
			}
			out = append(out, contract.Finding{Severity: sev, Kind: kind, Message: msg, Detail: detail, Keys: keys[g]})
		}
	}
	return out
}

// mostChanged names the object that changed most often in subject i's events of group g,
// as `ip` prints it: "route `default via 10.0.0.1 dev eth0` flapped 19 times", and how
// ("it was deleted 18 times and re-added 19 times, about every 160ms"), or "" when none
// changed twice.
func mostChanged(c *contract.Comparison, i int, g group, windowMS int64) (string, string) {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return "", ""
	}
	var s Section
	if ok, err := c.Reports[i].Section(Name, &s); !ok || err != nil {
		return "", ""
	}
	type tally struct{ del, add int }
	by := map[string]*tally{}
	for _, e := range s.Events {
		if e.Kind != g.kind || (g.dev != "any" && e.Dev != g.dev) {
			continue
		}
		t := by[e.What]
		if t == nil {
			t = &tally{}
			by[e.What] = t
		}
		if e.Action == "del" {
			t.del++
		} else {
			t.add++
		}
	}
	best, most := "", 0
	for what, t := range by {
		if n := t.del + t.add; n > most || n == most && what < best {
			best, most = what, n
		}
	}
	if most < 2 {
		return "", ""
	}
	t := by[best]
	obj := fmt.Sprintf("%s `%s` flapped %s", g.kind, asTyped(g.kind, best), contract.Times(max(t.del, t.add)))
	often := fmt.Sprintf("it was deleted %s and re-added %s", contract.Times(t.del), contract.Times(t.add))
	if t.del > 1 && windowMS > 0 {
		often += fmt.Sprintf(", about every %dms", windowMS/int64(t.del))
	}
	return obj, often
}

// asTyped writes a route event's object as `ip route` prints it: the main table and the
// unicast type left out, another table last ("blackhole 10.0.0.0/8 table 100").
func asTyped(kind, what string) string {
	if kind != "route" {
		return what
	}
	f := strings.Fields(what)
	if len(f) < 3 {
		return what
	}
	table, typ, rest := f[0], f[1], f[2:]
	out := rest
	if typ != "unicast" {
		out = append([]string{typ}, rest...)
	}
	if table != "main" {
		out = append(out, "table", table)
	}
	return strings.Join(out, " ")
}

func sum(byAction map[string]int) int {
	n := 0
	for _, c := range byAction {
		n += c
	}
	return n
}

// describe renders "14 route deletions and 14 route additions".
func describe(kind string, byAction map[string]int) string {
	var parts []string
	for _, a := range []string{"del", "new"} {
		n := byAction[a]
		if n == 0 {
			continue
		}
		word := map[string]string{"del": "deletion", "new": "addition"}[a]
		switch {
		case a == "new" && kind == "link":
			word = "change"
		case a == "new" && kind == "neighbour":
			word = "update"
		}
		if n != 1 {
			word += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s %s", n, kind, word))
	}
	return strings.Join(parts, " and ")
}

func onDev(dev string) string {
	if dev == "any" {
		return ""
	}
	return " on " + dev
}

func windowText(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%dms", ms)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
}

// windowsOf gives each subject's window length in ms, or -1 where its report holds no
// watch (an older prober, or the subscriptions failed).
func windowsOf(c *contract.Comparison) []int64 {
	out := make([]int64, len(c.Subjects))
	for i := range out {
		out[i] = -1
		if i < len(c.Reports) && c.Reports[i] != nil {
			var s Section
			if ok, err := c.Reports[i].Section(Name, &s); ok && err == nil && s.Window {
				out[i] = s.WindowMS
			}
		}
	}
	return out
}
