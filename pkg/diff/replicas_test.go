package diff_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Forty identical replicas with one- and two-letter names (s1 … s40, and a, b) are
// silent: every name and address that makes a replica itself normalises away, however
// short the name and wherever else it occurs as a substring (s1 inside s10, s12 …).
func TestIdenticalReplicasShortNames(t *testing.T) {
	raw, err := os.ReadFile("../report/testdata/v1-web-a.json")
	if err != nil {
		t.Fatal(err)
	}
	ip := regexp.MustCompile(`\b10\.244\.0\.15\b`)
	name := regexp.MustCompile(`\bweb-a\b`)
	var names []string
	var reports []*report.Report
	for k := 1; k <= 42; k++ {
		n := fmt.Sprintf("s%d", k)
		switch k {
		case 41:
			n = "a"
		case 42:
			n = "b"
		}
		doc := name.ReplaceAll(ip.ReplaceAll(raw, []byte(fmt.Sprintf("10.244.0.%d", 100+k))), []byte(n))
		var r report.Report
		if err := json.Unmarshal(doc, &r); err != nil {
			t.Fatal(err)
		}
		names, reports = append(names, n), append(reports, &r)
	}
	for _, set := range [][2]int{{0, 42}, {0, 2}, {40, 42}, {0, 10}} {
		res, err := diff.Compare(names[set[0]:set[1]], reports[set[0]:set[1]], diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			if !r.Equal {
				t.Errorf("%v: row %s differs: %q", names[set[0]:set[1]][:2], r.ID(), r.Values[:2])
			}
		}
		if res.Differs() {
			t.Errorf("%d identical replicas differ (exit status 1)", set[1]-set[0])
		}
	}
}
