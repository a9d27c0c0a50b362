package interfaces

import (
	"sort"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// compare builds the Comparison a rule sees from real reports: the section's facts lined
// up by key, each subject's own IPs and MACs replaced by "<self>". It stands in for
// diff.Compare, which lives in another package, so these tests pin the rules only.
func compare(t *testing.T, subjects []string, reps []*report.Report) *diff.Comparison {
	t.Helper()
	c := &diff.Comparison{Subjects: subjects, Reports: reps}
	p := &Plugin{}
	values := map[string][]string{}
	missing := map[string][]bool{}
	for i, rep := range reps {
		raw := rep.Sections[Name]
		facts, err := p.Facts(raw)
		if err != nil {
			t.Fatal(err)
		}
		id, err := p.Identity(raw)
		if err != nil {
			t.Fatal(err)
		}
		own := append(append([]string{}, id.IPs...), id.MACs...)
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
		row := diff.Row{Section: Name, Key: k, Values: vs, Missing: missing[k], Equal: true}
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
