package connect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// withApp is a subject whose connects as root all work and whose connects as the app
// (uid) went as app says; app nil means the app runs as root (skipped).
func withApp(t *testing.T, uid int, app *netprobe.Run) *report.Report {
	t.Helper()
	ok := run(5, 5, "", "")
	sec := Section{Attempts: 5, Targets: []TargetResult{{Target: tgt, Scheme: "tcp", Port: 80,
		Addresses: []AddrResult{{Address: "192.0.2.10", Family: "ipv4", Key: "ipv4",
			Blocking: &MethodResult{Sequential: ok}, Nonblocking: &MethodResult{Sequential: ok}}}}}}
	sec.AsApp = &AsApp{Identity: &asapp.Process{PID: 1, UID: uid, GID: uid, Groups: []int{}}}
	if app == nil {
		sec.AsApp.Skipped = "the app runs as uid 0 gid 0, as the prober does"
	} else {
		sec.AsApp.Targets = []TargetResult{{Target: tgt, Scheme: "tcp", Port: 80,
			Addresses: []AddrResult{{Address: "192.0.2.10", Family: "ipv4", Key: "ipv4",
				Blocking: &MethodResult{Sequential: ok}, Nonblocking: &MethodResult{Sequential: *app}}}}}
	}
	rep := &report.Report{Sections: map[string]json.RawMessage{}}
	rep.Sections[Name], _ = json.Marshal(sec)
	return rep
}

func TestAsAppFacts(t *testing.T) {
	bad := run(0, 5, "EHOSTUNREACH", netprobe.StageImmediate)
	facts, err := section.Facts(Name, withApp(t, 1000, &bad).Sections[Name])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range facts {
		got[f.Key] = f.Value
	}
	for k, v := range map[string]string{
		"tcp/nonblocking-as-app/" + tgt + "/ipv4": "EHOSTUNREACH 5/5 (immediate)",
		"tcp/blocking-as-app/" + tgt + "/ipv4":    "ok 5/5",
		"tcp/nonblocking/" + tgt + "/ipv4":        "ok 5/5",
		AsAppIdentityKey:                          "uid 1000 gid 1000 groups -",
		AsAppStatusKey:                            "ran",
	} {
		if got[k] != v {
			t.Errorf("fact %s = %q, want %q", k, got[k], v)
		}
	}
	if k := AsAppKey(Nonblocking, true, tgt, "ipv4"); k != "tcp/nonblocking-burst-as-app/"+tgt+"/ipv4" {
		t.Errorf("burst key %q", k)
	}
	facts, _ = section.Facts(Name, withApp(t, 0, nil).Sections[Name])
	for _, f := range facts {
		if strings.Contains(f.Key, AsAppSuffix) {
			t.Errorf("a root app has a row as the app: %s", f.Key)
		}
		if f.Key == AsAppStatusKey && !strings.HasPrefix(f.Value, "not run: the app runs as uid 0") {
			t.Errorf("status %q", f.Value)
		}
	}
}

func TestRuleFailsAsApp(t *testing.T) {
	bad, good := run(0, 5, "EHOSTUNREACH", netprobe.StageImmediate), run(5, 5, "", "")
	for _, tc := range []struct {
		name string
		reps []*report.Report
		want string
	}{
		{"other app works", []*report.Report{withApp(t, 1000, &good), withApp(t, 1000, &bad)},
			"b: non-blocking connect to " + tgt + " (ipv4 192.0.2.10) fails as the app (uid 1000) and works as root: non-blocking: EHOSTUNREACH 5/5 (immediate) as the app, ok 5/5 as root"},
		{"other app is root", []*report.Report{withApp(t, 0, nil), withApp(t, 1000, &bad)}, "b: non-blocking connect"},
		{"both fail as the app", []*report.Report{withApp(t, 1000, &bad), withApp(t, 1000, &bad)}, ""},
		{"twins", []*report.Report{withApp(t, 1000, &good), withApp(t, 1000, &good)}, ""},
	} {
		c := &contract.Comparison{Subjects: []string{"a", "b"}, Reports: tc.reps}
		fs := ruleFailsAsApp(c)
		switch {
		case tc.want == "" && len(fs) > 0:
			t.Errorf("%s: findings %+v, want none", tc.name, fs)
		case tc.want != "" && (len(fs) != 1 || !strings.Contains(fs[0].Message, tc.want)):
			t.Errorf("%s: findings %+v, want one with %q", tc.name, fs, tc.want)
		}
	}
}

// A row as the app is a probe run as each subject's app uid.
func TestAsAppProbeCarriesTheAppsUID(t *testing.T) {
	bad := run(0, 5, "EHOSTUNREACH", netprobe.StageImmediate)
	res, err := diff.Compare([]string{"a", "b"}, []*report.Report{withApp(t, 2000, nil), withApp(t, 1000, &bad)}, diff.Options{Rules: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	c := &contract.Comparison{Subjects: []string{"a", "b"}, Rows: res.Rows}
	var r contract.Row
	for _, row := range res.Rows {
		if row.Section == Name && row.Key == AsAppKey(Nonblocking, false, tgt, "ipv4") {
			r = row
		}
	}
	p, ok := probeOf(c, r)
	// a's app runs as the prober does: root's connects (ok) are its app's.
	if !ok || !p.AsApp || len(p.UIDs) != 2 || p.UIDIn(0) != 2000 || p.UIDIn(1) != 1000 || p.Status[1] != contract.FailLocal || p.Status[0] != contract.OK {
		t.Errorf("probe %+v, %v", p, ok)
	}
	if u, ok := ParseUID("uid 1000 gid 1 groups -"); !ok || u != 1000 {
		t.Errorf("ParseUID = %d, %v", u, ok)
	}
}
