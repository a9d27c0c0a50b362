package process

import (
	"sort"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// compare lines up the facts of real reports the way the diff does (by section and key),
// without normalisation, so the rules can be tested against real data.
func compare(t *testing.T, names []string, reps []*report.Report, sections ...string) *diff.Comparison {
	t.Helper()
	c := &diff.Comparison{Subjects: names, Reports: reps}
	for _, sec := range sections {
		p, ok := probe.Lookup(sec)
		if !ok {
			t.Fatalf("plugin %q not registered", sec)
		}
		byKey := map[string][]*string{}
		for i, rep := range reps {
			raw, ok := rep.Sections[sec]
			if !ok {
				continue
			}
			facts, err := p.Facts(raw)
			if err != nil {
				t.Fatalf("%s facts: %v", sec, err)
			}
			for _, f := range facts {
				if byKey[f.Key] == nil {
					byKey[f.Key] = make([]*string, len(reps))
				}
				v := f.Value
				byKey[f.Key][i] = &v
			}
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row := diff.Row{Section: sec, Key: k, Values: make([]string, len(reps)), Missing: make([]bool, len(reps)), Equal: true}
			for i, v := range byKey[k] {
				if v == nil {
					row.Values[i], row.Missing[i] = "-", true
				} else {
					row.Values[i] = *v
				}
				if row.Values[i] != row.Values[0] || row.Missing[i] != row.Missing[0] {
					row.Equal = false
				}
			}
			c.Rows = append(c.Rows, row)
		}
	}
	return c
}
