package diff

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// testPlugin is a minimal "routes"-like plugin: routes are Exact facts, counters are
// Counter facts, pid is Info, and its ips/macs are the subject's identity.
type testPlugin struct{}

type testSection struct {
	IPs      []string          `json:"ips"`
	MACs     []string          `json:"macs"`
	Routes   map[string]string `json:"routes"`   // destination -> "via X dev Y"
	Counters map[string]string `json:"counters"` // name -> delta
	PID      int               `json:"pid"`
	Probes   map[string]string `json:"probes"` // target -> result
}

const testName = "zz-test"

func init() { probe.Register(testName, func() probe.Plugin { return testPlugin{} }) }

func (testPlugin) Name() string       { return testName }
func (testPlugin) Phase() probe.Phase { return probe.Passive }
func (testPlugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, fmt.Errorf("not collected in tests")
}

func (testPlugin) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	var s testSection
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	var out []probe.Fact
	for dst, v := range s.Routes {
		out = append(out, probe.Fact{Key: "table/main/" + dst, Value: v})
	}
	for k, v := range s.Counters {
		out = append(out, probe.Fact{Key: "counter/" + k, Value: v, Kind: probe.Counter})
	}
	for k, v := range s.Probes {
		out = append(out, probe.Fact{Key: "tcp/" + k, Value: v})
	}
	out = append(out, probe.Fact{Key: "pid", Value: fmt.Sprint(s.PID), Kind: probe.ShowOnly})
	return out, nil
}

func (testPlugin) Identity(raw json.RawMessage) (probe.SelfValues, error) {
	var s testSection
	if err := json.Unmarshal(raw, &s); err != nil {
		return probe.SelfValues{}, err
	}
	return probe.SelfValues{IPs: s.IPs, MACs: s.MACs}, nil
}

func mkReport(t testing.TB, host string, sec *testSection, extra map[string]any) *report.Report {
	t.Helper()
	r := &report.Report{SchemaVersion: report.SchemaVersion, ProberVersion: "v0.1.0", Hostname: host,
		PID: 1, Sections: map[string]json.RawMessage{}}
	if sec != nil {
		r.Sections[testName] = mustJSON(t, sec)
	}
	for k, v := range extra {
		r.Sections[k] = mustJSON(t, v)
	}
	return r
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replica is a healthy pod: its own IP and MAC appear in its routes and probes.
func replica(ip, mac string, pid int, moved string) *testSection {
	return &testSection{
		IPs: []string{ip}, MACs: []string{mac},
		Routes: map[string]string{
			"default":       "via 10.244.0.1 dev eth0",
			ip + "/32":      "dev eth0 src " + ip,
			"10.244.0.0/24": "dev eth0 proto kernel src " + ip,
		},
		Counters: map[string]string{"InSegs": moved, "OutNoRoutes": "0"},
		PID:      pid,
	}
}

func unequal(res *Result) []string {
	var out []string
	for _, r := range res.Rows {
		if !r.Equal {
			out = append(out, r.ID()+"="+strings.Join(r.Values, ","))
		}
	}
	return out
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name        string
		a, b        *report.Report
		wantUnequal []string
		wantDiffers bool
		wantRules   []string // rule names of findings, in order
	}{{
		name: "two healthy replicas",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "0a:58:0a:f4:00:05", 100, "12"), nil),
		b:    mkReport(t, "web-2", replica("10.244.0.6", "0a:58:0a:f4:00:06", 7, "3"), nil),
	}, {
		name: "missing default route",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "1"), nil),
		b: func() *report.Report {
			s := replica("10.244.0.6", "m", 1, "1")
			delete(s.Routes, "default")
			return mkReport(t, "web-2", s, nil)
		}(),
		wantUnequal: []string{"zz-test/table/main/default=via 10.244.0.1 dev eth0,-"},
		wantDiffers: true,
	}, {
		name: "different gateway is meaningful",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "1"), nil),
		b: func() *report.Report {
			s := replica("10.244.0.6", "m", 1, "1")
			s.Routes["default"] = "via 10.244.0.254 dev eth0"
			return mkReport(t, "web-2", s, nil)
		}(),
		wantUnequal: []string{"zz-test/table/main/default=via 10.244.0.1 dev eth0,via 10.244.0.254 dev eth0"},
		wantDiffers: true,
	}, {
		name: "counter moved in one only",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "5"), nil),
		b: func() *report.Report {
			s := replica("10.244.0.6", "m", 1, "9")
			s.Counters["OutNoRoutes"] = "10"
			return mkReport(t, "web-2", s, nil)
		}(),
		wantUnequal: []string{"zz-test/counter/OutNoRoutes=0,10"},
		wantDiffers: true,
	}, {
		name: "section failed in one",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "5"), nil),
		b: func() *report.Report {
			r := mkReport(t, "web-2", nil, nil)
			r.Subject = &report.Subject{Name: "b", IPs: []string{"10.244.0.6"}}
			r.Problems = []report.Problem{{Section: testName, Error: &report.Error{Errno: "EACCES", Message: "permission denied"}}}
			return r
		}(),
		wantUnequal: []string{
			"report/section/zz-test=ok,failed: EACCES",
			"zz-test/counter/InSegs=5,-",
			"zz-test/counter/OutNoRoutes=0,-",
			"zz-test/table/main/10.244.0.0/24=dev eth0 proto kernel src <self>,-",
			"zz-test/table/main/<self>/32=dev eth0 src <self>,-",
			"zz-test/table/main/default=via 10.244.0.1 dev eth0,-",
		},
		wantDiffers: true,
		wantRules:   []string{"report/section-failed"},
	}, {
		name: "unknown section compared generically and normalised",
		a:    mkReport(t, "web-1", nil, map[string]any{"zz-new": map[string]any{"self": "10.244.0.5", "mtu": 1450, "list": []any{"a", true, nil}, "empty": map[string]any{}}}),
		b: func() *report.Report {
			r := mkReport(t, "web-2", nil, map[string]any{"zz-new": map[string]any{"self": "10.244.0.6", "mtu": 1500, "list": []any{"a", true, nil}, "empty": map[string]any{}}})
			return r
		}(),
		wantUnequal: []string{"zz-new/mtu=1450,1500"},
		wantDiffers: true,
		wantRules:   []string{"report/unknown-section"},
	}, {
		name: "prober versions differ: informational only",
		a:    mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "1"), nil),
		b: func() *report.Report {
			r := mkReport(t, "web-2", replica("10.244.0.6", "m", 1, "1"), nil)
			r.ProberVersion = "v0.2.0"
			return r
		}(),
		wantRules: []string{"report/prober-version"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unknown section compared generically and normalised" {
				tt.a.Subject = &report.Subject{IPs: []string{"10.244.0.5"}}
				tt.b.Subject = &report.Subject{IPs: []string{"10.244.0.6"}}
			}
			res, err := Compare([]string{"a", "b"}, []*report.Report{tt.a, tt.b}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := unequal(res); strings.Join(got, "\n") != strings.Join(tt.wantUnequal, "\n") {
				t.Errorf("unequal rows:\n got %q\nwant %q", got, tt.wantUnequal)
			}
			if res.Differs() != tt.wantDiffers {
				t.Errorf("Differs() = %v, want %v", res.Differs(), tt.wantDiffers)
			}
			var rules []string
			for _, f := range res.Findings {
				rules = append(rules, f.Rule)
			}
			if strings.Join(rules, " ") != strings.Join(tt.wantRules, " ") {
				t.Errorf("findings %v, want rules %v", res.Findings, tt.wantRules)
			}
			if !sort.SliceIsSorted(res.Rows, func(i, j int) bool {
				a, b := res.Rows[i], res.Rows[j]
				return a.Section < b.Section || a.Section == b.Section && a.Key < b.Key
			}) {
				t.Error("rows are not sorted by section and key")
			}
		})
	}
}

func TestCompareSectionFailedMessage(t *testing.T) {
	a := mkReport(t, "web-1", replica("10.244.0.5", "m", 1, "5"), nil)
	b := mkReport(t, "web-2", nil, nil)
	b.Problems = []report.Problem{{Section: testName, Error: &report.Error{Errno: "EACCES", Message: "open /proc/net/route: permission denied"}}}
	res, err := Compare([]string{"pod-a", "pod-b"}, []*report.Report{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Findings[0]
	if f.Severity != Medium || !strings.HasPrefix(f.Message, "pod-b could not collect section zz-test: EACCES") ||
		len(f.Keys) != 1 || f.Keys[0] != "report/section/zz-test" {
		t.Errorf("finding = %+v", f)
	}
}

func TestCompareInfoAndMissingValues(t *testing.T) {
	a := mkReport(t, "web-1", replica("10.244.0.5", "m", 100, "1"), nil)
	b := mkReport(t, "web-2", replica("10.244.0.6", "m", 200, "1"), nil)
	res, err := Compare([]string{"a", "b"}, []*report.Report{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &Comparison{Rows: res.Rows}
	pid, ok := c.Row(testName, "pid")
	if !ok || !pid.Equal || pid.Kind != probe.ShowOnly || pid.Values[0] != "100" || pid.Values[1] != "200" {
		t.Errorf("pid row = %+v, ok=%v", pid, ok)
	}
	host, _ := c.Row(ReportSection, "hostname")
	if host.Values[0] != SelfHostname || host.Values[1] != SelfHostname {
		t.Errorf("hostname row = %+v", host)
	}
	if got := len(c.Section(testName)); got != 6 {
		t.Errorf("Section(%s) has %d rows, want 6", testName, got)
	}
	if _, ok := c.Row(testName, "nope"); ok {
		t.Error("Row found a key that does not exist")
	}
}

// Three replicas that probe each other: "a reaches b" lines up across a and c, and b's
// missing fact about reaching itself is not a difference.
func TestCompareThreeSubjects(t *testing.T) {
	ips := map[string]string{"a": "10.244.0.5", "b": "10.244.1.7", "c": "10.244.2.9"}
	mk := func(self string, broken map[string]string) *report.Report {
		s := replica(ips[self], "m", 1, "1")
		s.Probes = map[string]string{}
		for peer, ip := range ips {
			if peer != self {
				v := "ok 10/10"
				if broken[peer] != "" {
					v = broken[peer]
				}
				s.Probes[ip+":8080"] = v
			}
		}
		return mkReport(t, "web-"+self, s, nil)
	}
	names := []string{"a", "b", "c"}
	res, err := Compare(names, []*report.Report{mk("a", nil), mk("b", nil), mk("c", nil)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if u := unequal(res); len(u) != 0 || res.Differs() {
		t.Fatalf("healthy trio differs: %q", u)
	}
	c := &Comparison{Rows: res.Rows}
	row, ok := c.Row(testName, "tcp/<peer:b>:8080")
	if !ok || !row.Missing[1] || row.Values[0] != "ok 10/10" {
		t.Fatalf("row about b = %+v (ok=%v)", row, ok)
	}

	res, err = Compare(names, []*report.Report{mk("a", nil), mk("b", nil), mk("c", map[string]string{"b": "ENETUNREACH 10/10"})}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"zz-test/tcp/<peer:b>:8080=ok 10/10,-,ENETUNREACH 10/10"}
	if u := unequal(res); strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("unequal = %q, want %q", u, want)
	}
}

func TestCompareCollapsedKeys(t *testing.T) {
	// Two of a's addresses both become <self>: both values are kept.
	a := replica("10.244.0.5", "m", 1, "1")
	a.IPs = append(a.IPs, "10.244.0.50")
	a.Routes["10.244.0.50/32"] = "dev eth1 src 10.244.0.50"
	b := replica("10.244.0.6", "m", 1, "1")
	res, err := Compare([]string{"a", "b"}, []*report.Report{mkReport(t, "x", a, nil), mkReport(t, "y", b, nil)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	row, _ := (&Comparison{Rows: res.Rows}).Row(testName, "table/main/<self>/32")
	if row.Values[0] != "dev eth0 src <self> | dev eth1 src <self>" || row.Equal {
		t.Errorf("collapsed row = %+v", row)
	}
}

func TestCompareErrors(t *testing.T) {
	r := mkReport(t, "x", nil, nil)
	for _, tt := range []struct {
		subjects []string
		reports  []*report.Report
		want     string
	}{
		{[]string{"a"}, []*report.Report{r}, "at least 2"},
		{[]string{"a", "b"}, []*report.Report{r}, "2 subjects but 1 reports"},
		{[]string{"a", "a"}, []*report.Report{r, r}, "given twice"},
		{[]string{"a", ""}, []*report.Report{r, r}, "no name"},
		{[]string{"a", "b"}, []*report.Report{r, nil}, "no report"},
	} {
		if _, err := Compare(tt.subjects, tt.reports, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compare(%v) error = %v, want %q", tt.subjects, err, tt.want)
		}
	}
}

func TestRulesPanicDedupeSort(t *testing.T) {
	a := mkReport(t, "x", replica("10.244.0.5", "m", 1, "1"), nil)
	b := mkReport(t, "y", replica("10.244.0.6", "m", 1, "1"), nil)
	rules := []namedRule{
		{Name: "t/panics", Value: func(*Comparison) []Finding { panic("index out of range") }},
		{Name: "t/dup", Value: func(*Comparison) []Finding {
			f := Finding{Severity: Low, Message: "same twice"}
			return []Finding{f, f, {Severity: Critical, Message: "worst"}, {Severity: Low, Message: "a first"}}
		}},
		{Name: "t/sees-rows", Value: func(c *Comparison) []Finding {
			if len(c.Subjects) != 2 || len(c.Rows) == 0 || len(c.Identities) != 2 {
				return []Finding{{Severity: High, Message: "rule saw an empty comparison"}}
			}
			return nil
		}},
	}
	res, err := compare(context.Background(), []string{"a", "b"}, []*report.Report{a, b}, rules)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s %s %s keys=%d", f.Severity, f.Rule, f.Message, len(f.Keys)))
		if f.Keys == nil {
			t.Errorf("finding %q has nil keys (JSON null)", f.Message)
		}
	}
	want := []string{
		"critical t/dup worst keys=0",
		"low t/dup a first keys=0",
		"low t/dup same twice keys=0",
		"info t/panics rule t/panics failed (panic: index out of range); its findings are missing: please report this bug keys=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOptionsRules(t *testing.T) {
	a := mkReport(t, "x", replica("10.244.0.5", "m", 1, "1"), nil)
	b := mkReport(t, "y", replica("10.244.0.6", "m", 1, "1"), nil)
	b.ProberVersion = "v9"
	res, err := Compare([]string{"a", "b"}, []*report.Report{a, b}, Options{Rules: func(n string) bool { return n != "report/prober-version" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Errorf("filtered rule still ran: %+v", res.Findings)
	}
}

func TestSeverityText(t *testing.T) {
	for s := Info; s <= Critical; s++ {
		b, _ := s.MarshalText()
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round-trips to %v (%v)", s, back, err)
		}
	}
	if _, err := contract.ParseSeverity("urgent"); err == nil {
		t.Error("ParseSeverity accepted an unknown name")
	}
	b, _ := json.Marshal(Finding{Severity: High})
	if !strings.Contains(string(b), `"severity":"high"`) {
		t.Errorf("finding JSON %s", b)
	}
}

func TestDiffersIgnoresSharedFindings(t *testing.T) {
	rows := []Row{{Section: "interfaces", Key: "eth0/mtu", Values: []string{"1500", "1500"}, Equal: true}}
	shared := Finding{Severity: Medium, Rule: "x", Keys: []string{"interfaces/eth0/mtu"}}
	if (&Result{Rows: rows, Findings: []Finding{shared}}).Differs() {
		t.Error("a finding that rests only on equal rows describes what both share, not a difference")
	}
	if !(&Result{Rows: rows, Findings: []Finding{{Severity: Low, Rule: "y"}}}).Differs() {
		t.Error("a finding that names no row must count as a difference")
	}
	if (&Result{Rows: rows, Findings: []Finding{{Severity: Info, Rule: "z"}}}).Differs() {
		t.Error("an info finding is never a difference")
	}
	rows[0].Equal = false
	if !(&Result{Rows: rows}).Differs() {
		t.Error("an unequal row is a difference")
	}
}
