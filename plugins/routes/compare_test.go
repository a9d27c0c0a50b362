package routes

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// compare runs the real diff engine (no rules) and returns the Comparison this plugin's
// rules see: its section's rows, normalised (own addresses <self>, the other's <peer>).
func compare(t *testing.T, p probe.Plugin, subjects []string, reps []*report.Report) *diff.Comparison {
	t.Helper()
	res, err := diff.Compare(subjects, reps, diff.Options{Rules: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	c := &diff.Comparison{Subjects: subjects, Reports: reps}
	for _, r := range res.Rows {
		if r.Section == p.Name() {
			c.Rows = append(c.Rows, r)
		}
	}
	return c
}

// engineFindings runs the engine with every registered rule of this plugin, to prove the
// rules are registered and survive the engine; it returns the rule names that fired.
func engineFindings(t *testing.T, p probe.Plugin, subjects []string, reps []*report.Report) map[string]int {
	t.Helper()
	res, err := diff.Compare(subjects, reps, diff.Options{Rules: func(name string) bool { return strings.HasPrefix(name, p.Name()+"/") }})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Rule, p.Name()+"/") {
			out[f.Rule]++
		}
	}
	return out
}

func rowMap(c *diff.Comparison) map[string]diff.Row {
	m := map[string]diff.Row{}
	for _, r := range c.Rows {
		m[r.Key] = r
	}
	return m
}
