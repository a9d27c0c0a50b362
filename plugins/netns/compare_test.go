package netns

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
)

// compare builds the Comparison a rule sees from real reports: one section's facts lined
// up by key, each subject's own IPs and MACs (from the interfaces section) replaced by
// "<self>". It stands in for diff.Compare, so these tests pin this plugin's rules only.
func compare(t *testing.T, p probe.Plugin, subjects []string, reps []*report.Report) *diff.Comparison {
	t.Helper()
	c := &diff.Comparison{Subjects: subjects, Reports: reps}
	values := map[string][]string{}
	missing := map[string][]bool{}
	for i, rep := range reps {
		raw, ok := rep.Sections[p.Name()]
		if !ok {
			continue
		}
		facts, err := p.Facts(raw)
		if err != nil {
			t.Fatal(err)
		}
		var own []string
		if ifs, ok := rep.Sections["interfaces"]; ok {
			var s interfaces.Section
			if err := json.Unmarshal(ifs, &s); err != nil {
				t.Fatal(err)
			}
			id := interfaces.Identity(&s)
			own = append(append(own, id.IPs...), id.MACs...)
		}
		sort.Slice(own, func(a, b int) bool { return len(own[a]) > len(own[b]) })
		norm := func(s string) string {
			for _, v := range own {
				s = strings.ReplaceAll(s, v, "<self>")
			}
			return s
		}
		for _, f := range facts {
			k := norm(f.Key)
			if values[k] == nil {
				values[k] = make([]string, len(reps))
				missing[k] = make([]bool, len(reps))
				for j := range missing[k] {
					missing[k][j] = true
				}
			}
			values[k][i], missing[k][i] = norm(f.Value), false
		}
	}
	for k, vs := range values {
		row := diff.Row{Section: p.Name(), Key: k, Values: vs, Missing: missing[k], Equal: true}
		for j := range vs {
			if missing[k][j] {
				row.Values[j] = "-"
			}
			if row.Values[j] != row.Values[0] {
				row.Equal = false
			}
		}
		c.Rows = append(c.Rows, row)
	}
	sort.Slice(c.Rows, func(a, b int) bool { return c.Rows[a].Key < c.Rows[b].Key })
	return c
}

func rowMap(c *diff.Comparison) map[string]diff.Row {
	m := map[string]diff.Row{}
	for _, r := range c.Rows {
		m[r.Key] = r
	}
	return m
}
