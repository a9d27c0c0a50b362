package routeget

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestRuleLookupFails(t *testing.T) {
	mk := func(l Lookup) *report.Report {
		raw, _ := json.Marshal(Section{Lookups: []Lookup{l}})
		return &report.Report{Sections: map[string]json.RawMessage{Name: raw}}
	}
	base := Lookup{Target: "tcp://10.0.0.1:8081", Address: "10.0.0.1", Family: "ipv4", Key: "ipv4", IPProto: "tcp", Dport: 8081}
	good, bad := base, base
	good.Route = &Route{Type: "unicast", Table: "main", Dev: "eth0"}
	bad.Error = &report.Error{Errno: "EHOSTUNREACH", Message: "no route to host"}
	c := &contract.Comparison{Subjects: []string{"a", "b", "c"}, Reports: []*report.Report{mk(good), mk(bad), nil}}
	got := ruleLookupFails(c)
	if len(got) != 1 || got[0].Severity != contract.Critical ||
		!strings.Contains(got[0].Message, "b: `ip route get 10.0.0.1 ipproto tcp dport 8081` fails with EHOSTUNREACH (a: unicast dev eth0 table main)") {
		t.Errorf("findings = %+v", got)
	}
	c.Reports[0] = mk(bad)
	if got := ruleLookupFails(c); len(got) != 0 {
		t.Errorf("failing everywhere is not a difference: %+v", got)
	}
}
