package rules

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/connect"
)

// A uidrange rule lies on the path of a probe only for the uid the probe ran as in that
// subject: root's probes (UID 0) and, for a probe as the app, each subject's app uid.
func TestUIDRangeOnPathOfTheAppsUID(t *testing.T) {
	key := "ipv4/100 from all uidrange 1000-1000"
	addr := netip.MustParseAddr("10.0.0.1")
	probe := func(uids []int) *contract.Probe {
		return &contract.Probe{Target: "tcp://10.0.0.1:80", AddrKey: "ipv4", Proto: "tcp", Port: 80, UIDs: uids,
			Addr: []netip.Addr{addr, addr}}
	}
	if matches(key, probe(nil), 0) {
		t.Error("root's probe takes a uidrange 1000-1000 rule")
	}
	p := probe([]int{1000, 2000})
	if !matches(key, p, 0) || matches(key, p, 1) {
		t.Errorf("as the app (uids 1000, 2000): matches = %v, %v; want true, false", matches(key, p, 0), matches(key, p, 1))
	}
	if matches(key, probe([]int{-1, -1}), 0) {
		t.Error("an unknown app uid takes the rule")
	}
}

// matches: rule key's selectors hold for probe p in subject i.
func matches(key string, p *contract.Probe, i int) bool {
	rr, ok := parseRuleKey(contract.Row{Key: key}, p.Family())
	return ok && selects(&contract.Comparison{}, rr, p, i) == yes
}

// The finding says whom the uidrange selects, from the connect section's app identity.
func TestOnlyInSomeNamesTheAppsUID(t *testing.T) {
	withApp := func(uid int, rules ...Rule) *report.Report {
		rep := reportWith(t, "10.0.0.5", rules...)
		rep.Sections[connectSection] = json.RawMessage(`{"asApp":{"identity":{"uid":` + strconv.Itoa(uid) + `,"gid":1000,"groups":[]}}}`)
		return rep
	}
	main := Rule{Family: "ipv4", Priority: 32766, From: "all", Action: "lookup", Table: "main"}
	uidRule := Rule{Family: "ipv4", Priority: 100, From: "all", UIDRange: "1000-1000", Action: "lookup", Table: "100"}
	for _, tc := range []struct {
		uid  int
		want string
	}{
		{1000, "uidrange 1000-1000 selects the app's uid 1000 and not root's"},
		{2000, "uidrange 1000-1000 selects neither the app's uid 2000 nor root"},
	} {
		reps := []*report.Report{withApp(tc.uid, main), withApp(tc.uid, main, uidRule)}
		res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{Rules: func(n string) bool { return n == "rules/only-in-some" }})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) == 0 || !strings.Contains(res.Findings[0].Detail, tc.want) {
			t.Errorf("app uid %d: findings %+v, want one saying %q", tc.uid, res.Findings, tc.want)
		}
	}
}

// The rule reads the app's uid through its own schema of the connect section; this pins
// the two together.
func TestConnectSchemaMatchesTheConnectSection(t *testing.T) {
	raw, err := json.Marshal(connect.Section{AsApp: &connect.AsApp{Identity: &asapp.Process{PID: 7, UID: 1000, GID: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	rep := &report.Report{Sections: map[string]json.RawMessage{connect.Name: raw}}
	if connectSection != connect.Name {
		t.Errorf("connectSection %q, connect's name %q", connectSection, connect.Name)
	}
	c := &contract.Comparison{Subjects: []string{"a"}, Reports: []*report.Report{rep}}
	if uid, ok := appUID(c, 0); !ok || uid != 1000 {
		t.Errorf("appUID = %d, %v from %s", uid, ok, raw)
	}
}
