package servicefacts

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func rep(t *testing.T, s Section) *report.Report {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{SectionName: raw}}
}

// The same target reaches a Service with endpoints in one pod and an empty one in the
// other: the empty Service is a cause in that pod; counts alone are not a difference.
func TestEmptyServiceIsTheCause(t *testing.T) {
	target := func(svc string, ready, notReady int) Section {
		return Section{Targets: []Target{{Target: "tcp://web:80", AddrKey: "ipv4", Address: "10.96.0.5", Port: 80, Service: svc, Ready: ready, NotReady: notReady}}}
	}
	res, err := diff.Compare([]string{"a", "b"}, []*report.Report{rep(t, target("prod/web", 3, 0)), rep(t, target("stage/web", 0, 1))}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var found *diff.Finding
	for i, f := range res.Findings {
		if f.Rule == SectionName+"/no-ready-endpoints" {
			found = &res.Findings[i]
		}
	}
	if found == nil || found.Kind != diff.Cause || found.Subject != "b" ||
		!strings.Contains(found.Message, "stage/web") || !strings.Contains(found.Message, "(1 not ready)") || !strings.Contains(found.Message, "prod/web with 3 ready") {
		t.Fatalf("no cause naming the empty Service in b: %+v", res.Findings)
	}
	res, err = diff.Compare([]string{"a", "b"}, []*report.Report{rep(t, target("prod/web", 3, 0)), rep(t, target("stage/web", 1, 0))}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Differs() {
		t.Errorf("3 against 1 ready endpoints made a difference: %+v", res.Findings)
	}
}
