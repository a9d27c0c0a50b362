package plugintest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Compare runs the real diff engine (no rules) and returns the Comparison the section's
// rules see: its rows, normalised (own addresses <self>, the other's <peer>).
func Compare(t testing.TB, section string, subjects []string, reps []*report.Report) *contract.Comparison {
	t.Helper()
	res, err := diff.Compare(subjects, reps, diff.Options{Rules: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	c := &contract.Comparison{Subjects: subjects, Reports: reps}
	for _, r := range res.Rows {
		if r.Section == section {
			c.Rows = append(c.Rows, r)
		}
	}
	return c
}

// Findings runs the real diff engine on real reports with only the section's rules, so a
// test proves the rules are registered and survive the engine.
func Findings(t testing.TB, section string, subjects []string, reps []*report.Report) []contract.Finding {
	t.Helper()
	prefix := section + "/"
	res, err := diff.Compare(subjects, reps, diff.Options{Rules: func(name string) bool { return strings.HasPrefix(name, prefix) }})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// EngineFindings is Findings counted by rule name: how often each of the section's rules fired.
func EngineFindings(t testing.TB, section string, subjects []string, reps []*report.Report) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, f := range Findings(t, section, subjects, reps) {
		if strings.HasPrefix(f.Rule, section+"/") {
			out[f.Rule]++
		}
	}
	return out
}

// RowMap indexes a Comparison's rows by key.
func RowMap(c *contract.Comparison) map[string]contract.Row {
	m := map[string]contract.Row{}
	for _, r := range c.Rows {
		m[r.Key] = r
	}
	return m
}

// MustMarshal is json.Marshal for test fixtures that cannot fail to encode.
func MustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Facts flattens the named section of rep into key → value.
func Facts(t testing.TB, name string, rep *report.Report) map[string]string {
	t.Helper()
	fs, err := Plugin(t, name).Facts(rep.Sections[name])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fs {
		m[f.Key] = f.Value
	}
	return m
}

// CheckFacts reports every expected fact that has another value, or none. Each want is
// {subject, key, value}; facts holds each subject's facts (from Facts) by name.
func CheckFacts(t testing.TB, facts map[string]map[string]string, wants [][3]string) {
	t.Helper()
	for _, w := range wants {
		subject, key, want := w[0], w[1], w[2]
		f, ok := facts[subject]
		if !ok {
			t.Fatalf("CheckFacts: no facts for subject %q", subject)
		}
		if got := f[key]; got != want {
			t.Errorf("%s: %s = %q, want %q", subject, key, got, want)
		}
	}
}
