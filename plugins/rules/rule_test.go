package rules

import (
	"encoding/json"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/interfaces"
)

func reportWith(t *testing.T, ip string, rules ...Rule) *report.Report {
	t.Helper()
	ifs, _ := json.Marshal(interfaces.Section{Interfaces: []interfaces.Interface{{Name: "eth0", Type: "veth", Addrs: []interfaces.Addr{{CIDR: ip + "/32", Family: "ipv4", Scope: "global"}}}}})
	rs, _ := json.Marshal(Section{Rules: rules})
	return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{"interfaces": ifs, Name: rs}}
}

func TestOnlyInSomeOnNormalisedRows(t *testing.T) {
	main := Rule{Family: "ipv4", Priority: 32766, From: "all", Action: "lookup", Table: "main"}
	own := func(ip string) Rule {
		return Rule{Family: "ipv4", Priority: 100, From: ip, Action: "lookup", Table: "100"}
	}
	tests := []struct {
		name string
		reps func() []*report.Report
		want []string
	}{
		{"own-address rules line up", func() []*report.Report {
			return []*report.Report{reportWith(t, "10.1.0.5", own("10.1.0.5"), main), reportWith(t, "10.1.0.6", own("10.1.0.6"), main)}
		}, nil},
		{"missing main rule", func() []*report.Report {
			return []*report.Report{reportWith(t, "10.1.0.5", main), reportWith(t, "10.1.0.6")}
		}, []string{"a has `32766: from all lookup main` (b has no such rule)"}},
		{"different action", func() []*report.Report {
			p := main
			p.Action, p.Table = "prohibit", ""
			return []*report.Report{reportWith(t, "10.1.0.5", main), reportWith(t, "10.1.0.6", p)}
		}, []string{"a has `32766: from all lookup main`; b has `32766: from all prohibit`"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reps := tc.reps()
			res, err := diff.Compare([]string{"a", "b"}, reps, diff.Options{Rules: func(n string) bool { return n == "rules/only-in-some" }})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				if f.Rule == "rules/only-in-some" {
					got = append(got, f.Message)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("finding %q, want %q", got[i], tc.want[i])
				}
			}
		})
	}
}
