package diff_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func loadReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// The demo pair as captured on the local cluster: the diagnosis is one cause (the missing
// routes), every symptom folded under it, the healthy pod's failed probes of the broken
// one included, and the links hold both ways.
func TestDiagnosisOfCapturedDemoPair(t *testing.T) {
	a := loadReport(t, "../report/testdata/v1-web-a.json")
	b := loadReport(t, "../report/testdata/v1-web-broken.json")
	res, err := diff.Compare([]string{"web-a", "web-broken"}, []*report.Report{a, b}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	top := res.Findings[0]
	if top.ID != "f1" || top.Kind != diff.Cause || top.Rule != "routes/no-default-route" || top.Subject != "web-broken" {
		t.Fatalf("first finding = %+v", top)
	}
	byID := map[string]diff.Finding{}
	topLevel := 0
	for _, f := range res.Findings {
		byID[f.ID] = f
		if f.Kind != diff.Symptom || len(f.ExplainedBy) == 0 {
			topLevel++
		}
		if f.Kind == diff.Symptom && len(f.ExplainedBy) == 0 {
			t.Errorf("unexplained symptom: %s", f.Message)
		}
	}
	if topLevel > 3 {
		t.Errorf("%d top-level findings, want at most 3", topLevel)
	}
	healthy := 0
	for _, id := range top.Explains {
		s, ok := byID[id]
		if !ok || !slices.Contains(s.ExplainedBy, top.ID) {
			t.Errorf("%s explains %s, which does not point back", top.ID, id)
		}
		if s.Subject == "web-a" {
			healthy++
			if !strings.Contains(s.Message, "the cause is in web-broken") {
				t.Errorf("web-a's symptom does not say the cause is in web-broken: %s", s.Message)
			}
		}
	}
	if healthy == 0 {
		t.Error("none of web-a's failed probes of web-broken is explained by web-broken's cause")
	}
	if len(top.Evidence) == 0 || top.Evidence[0].Values["web-a"] == "" {
		t.Errorf("cause evidence = %+v", top.Evidence)
	}
}

// Two copies of one report are silent: nothing but context (they share one namespace).
func TestDiagnosisOfTwinsIsEmpty(t *testing.T) {
	a := loadReport(t, "../report/testdata/v1-web-a.json")
	b := loadReport(t, "../report/testdata/v1-web-a.json")
	res, err := diff.Compare([]string{"one", "two"}, []*report.Report{a, b}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Differs() {
		t.Errorf("twins differ: %+v", res.Findings)
	}
	for _, f := range res.Findings {
		if f.Kind != diff.Context {
			t.Errorf("twins: %s finding %s: %s", f.Kind, f.Rule, f.Message)
		}
	}
}
