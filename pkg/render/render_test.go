package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample is a deterministic Result with the shapes the renderers must handle: findings
// of every severity, a long sentence, rows in several sections, missing values, a long
// value, a counter, equal rows, and a control character from a hostile report.
func sample() *diff.Result {
	return &diff.Result{
		Subjects: []string{"default/pod-a", "default/pod-b"},
		Findings: []diff.Finding{
			{ID: "f1", Kind: diff.Cause, Subject: "default/pod-b", Severity: diff.Critical, Rule: "routes/no-default-route", Keys: []string{"routes/table/main/default"},
				Evidence: []diff.Evidence{{Row: "routes/table/main/default", Values: map[string]string{"default/pod-a": "via 10.244.0.1 dev eth0", "default/pod-b": "-"}}},
				Explains: []string{"f5"},
				Message:  "default/pod-b has no default route (default/pod-a: default via 10.244.0.1 dev eth0): connects outside its subnet fail with ENETUNREACH"},
			{ID: "f2", Kind: diff.Cause, Severity: diff.Medium, Rule: "interfaces/mtu-differs", Keys: []string{"interfaces/eth0/mtu"}, Message: "MTU of eth0 differs: 1450 in default/pod-a, 1500 in default/pod-b"},
			{ID: "f3", Kind: diff.Context, Severity: diff.Low, Rule: "report/section-absent", Keys: []string{"report/section/neighbours"}, Message: "the report of default/pod-b has no section neighbours"},
			{ID: "f4", Kind: diff.Context, Severity: diff.Info, Rule: "report/prober-version", Keys: []string{"report/proberVersion"}, Message: "different prober versions (default/pod-a: v0.1.0, default/pod-b: v0.2.0)"},
			{ID: "f5", Kind: diff.Symptom, Subject: "default/pod-b", Severity: diff.Critical, Rule: "connect/fails-here-works-there", Keys: []string{"connect/tcp-nonblocking/tcp://10.96.0.1:443"}, ExplainedBy: []string{"f1"},
				Message: "default/pod-b: non-blocking connect to tcp://10.96.0.1:443 fails with ENETUNREACH 10/10 (immediate) while default/pod-a succeeds 10/10"},
		},
		Rows: []diff.Row{
			{Section: "counters", Key: "Ip/OutNoRoutes", Kind: probe.Counter, Values: []string{"0", "10"}, Missing: []bool{false, false}},
			{Section: "counters", Key: "Tcp/InSegs", Kind: probe.Counter, Values: []string{"12", "3"}, Missing: []bool{false, false}, Equal: true},
			{Section: "interfaces", Key: "eth0/mtu", Values: []string{"1450", "1500"}, Missing: []bool{false, false}},
			{Section: "interfaces", Key: "eth0/addrs", Values: []string{"<self>/24", "<self>/24"}, Missing: []bool{false, false}, Equal: true},
			{Section: "interfaces", Key: "eth0/flags", Values: []string{"UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP plus a rather long tail of flags that nobody reads, repeated: UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP,UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP,UP,BROADCAST,RUNNING", "UP"}, Missing: []bool{false, false}},
			{Section: "report", Key: "pid", Kind: probe.ShowOnly, Values: []string{"4242", "17"}, Missing: []bool{false, false}, Equal: true},
			{Section: "report", Key: "section/neighbours", Values: []string{"ok", "absent"}, Missing: []bool{false, false}},
			{Section: "routes", Key: "table/main/default", Values: []string{"via 10.244.0.1 dev eth0", "-"}, Missing: []bool{false, true}},
			{Section: "routes", Key: "table/main/10.244.0.0/24", Values: []string{"dev eth0 proto kernel scope link src <self>", "dev eth0 proto kernel scope link src <self>"}, Missing: []bool{false, false}, Equal: true},
			{Section: "env", Key: "HTTP_PROXY", Values: []string{"-", "http://proxy\x1b[2J:3128"}, Missing: []bool{true, false}},
		},
	}
}

func sortedSample() *diff.Result {
	res := sample()
	// Result rows are sorted by section and key; keep the sample honest.
	rows := res.Rows
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && (rows[j].Section < rows[j-1].Section || rows[j].Section == rows[j-1].Section && rows[j].Key < rows[j-1].Key); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	return res
}

func same() *diff.Result {
	return &diff.Result{
		Subjects: []string{"pod-a", "pod-b"},
		Rows:     []diff.Row{{Section: "routes", Key: "table/main/default", Values: []string{"via 10.244.0.1 dev eth0", "via 10.244.0.1 dev eth0"}, Missing: []bool{false, false}, Equal: true}},
	}
}

// three is a Result of three subjects, one of which cannot have the fact about itself.
func three() *diff.Result {
	return &diff.Result{
		Subjects: []string{"web-a", "web-b", "web-c"},
		Findings: []diff.Finding{{Severity: diff.High, Rule: "connect/fails-one-side", Keys: []string{"connect/tcp://<peer:web-b>:8080"},
			Message: "web-c cannot connect to web-b:8080 (ENETUNREACH 10/10) while web-a can"}},
		Rows: []diff.Row{
			{Section: "connect", Key: "tcp://<peer:web-b>:8080", Values: []string{"ok 10/10", "-", "ENETUNREACH 10/10"}, Missing: []bool{false, true, false}},
			{Section: "connect", Key: "tcp://<peer:web-c>:8080", Values: []string{"ok 10/10", "ok 10/10", "-"}, Missing: []bool{false, false, true}, Equal: true},
		},
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file   string
		res    *diff.Result
		format string
		opts   Options
	}{
		{"table.txt", sortedSample(), "", Options{}},
		{"table-all.txt", sortedSample(), "table", Options{All: true}},
		{"table-color.txt", sortedSample(), "table", Options{Color: true}},
		{"table-same.txt", same(), "table", Options{}},
		{"wide.txt", sortedSample(), "wide", Options{}},
		{"json.json", sortedSample(), "json", Options{}},
		{"json-all.json", sortedSample(), "json", Options{All: true}},
		{"json-same.json", same(), "json", Options{}},
		{"yaml.yaml", sortedSample(), "yaml", Options{}},
		{"three-wide-all.txt", three(), "wide", Options{All: true}},
		{"three.json", three(), "json", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tt.res, tt.format, tt.opts); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/render -update)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("%s differs from golden file (go test ./pkg/render -update rewrites it):\n--- got\n%s\n--- want\n%s", tt.file, got, want)
			}
		})
	}
}

// The machine formats carry what the table hides: full values, the contract's fields.
func TestJSONContract(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		var buf bytes.Buffer
		if err := Render(&buf, sortedSample(), format, Options{}); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if format == "yaml" {
			var err error
			if b, err = yaml.YAMLToJSON(b); err != nil {
				t.Fatal(err)
			}
		}
		var doc struct {
			APIVersion string   `json:"apiVersion"`
			Subjects   []string `json:"subjects"`
			Differs    bool     `json:"differs"`
			Findings   []struct {
				ID, Kind, Severity, Rule, Message string
				Keys                              []string
				Explains                          []string `json:"explains"`
				ExplainedBy                       []string `json:"explainedBy"`
			} `json:"findings"`
			Rows []struct {
				Section, Key string
				Values       []string
				Missing      []bool
				Equal        bool
			} `json:"rows"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.APIVersion != APIVersion || len(doc.Subjects) != 2 || !doc.Differs {
			t.Errorf("%s header = %+v", format, doc)
		}
		if len(doc.Findings) != 5 || doc.Findings[0].Severity != "critical" || doc.Findings[0].Kind != "cause" || len(doc.Findings[0].Keys) != 1 {
			t.Errorf("%s findings = %+v", format, doc.Findings)
		}
		// The links survive in both directions.
		if f := doc.Findings[0]; len(f.Explains) != 1 || f.Explains[0] != "f5" || doc.Findings[4].ID != "f5" ||
			len(doc.Findings[4].ExplainedBy) != 1 || doc.Findings[4].ExplainedBy[0] != "f1" {
			t.Errorf("%s: cause/symptom links lost: %+v", format, doc.Findings)
		}
		for _, r := range doc.Rows {
			if r.Equal {
				t.Errorf("%s: equal row %s/%s listed without All", format, r.Section, r.Key)
			}
			if len(r.Values) != len(doc.Subjects) {
				t.Errorf("%s: row %s/%s has %d values for %d subjects", format, r.Section, r.Key, len(r.Values), len(doc.Subjects))
			}
			if r.Key == "eth0/flags" && !strings.HasSuffix(r.Values[0], "LOWER_UP,UP,BROADCAST,RUNNING") {
				t.Errorf("%s: long value was cut: %q", format, r.Values[0])
			}
			if r.Key == "table/main/default" && (len(r.Missing) != 2 || !r.Missing[1]) {
				t.Errorf("%s: missing not marked: %+v", format, r)
			}
		}
	}
}

func TestTableHidesEqualRowsAndEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sortedSample(), "table", Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, hidden := range []string{"Tcp/InSegs", "eth0/addrs", "4242", "\x1b"} {
		if strings.Contains(out, hidden) {
			t.Errorf("table shows %q:\n%s", hidden, out)
		}
	}
	for _, shown := range []string{"CRITICAL", "Ip/OutNoRoutes", `\x1b[2J`, "more chars: -o json"} {
		if !strings.Contains(out, shown) {
			t.Errorf("table lacks %q:\n%s", shown, out)
		}
	}
	if strings.Index(out, "CRITICAL") > strings.Index(out, "SECTION") {
		t.Error("findings are not printed before rows")
	}
}

func TestValidateFormat(t *testing.T) {
	for _, f := range append(Formats, "") {
		if err := ValidateFormat(f); err != nil {
			t.Errorf("%q: %v", f, err)
		}
	}
	if err := Render(&bytes.Buffer{}, same(), "xml", Options{}); err == nil || !strings.Contains(err.Error(), "table, wide, json, yaml") {
		t.Errorf("xml: %v", err)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in           string
		width, lines int
		want         string
	}{
		{"short", 10, 0, "short"},
		{"one two three four", 9, 0, "one two\nthree\nfour"},
		{"a/b/c/d/e/f", 6, 0, "a/b/c/\nd/e/f"},
		{"abcdefghij", 4, 0, "abcd\nefgh\nij"},
		{"abcdefghijkl", 4, 2, "abcd\n… (8 more chars: -o json)"},
		{"line1\nline2", 20, 0, "line1\nline2"},
	}
	for _, tt := range tests {
		if got := wrap(tt.in, tt.width, tt.lines); got != tt.want {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tt.in, tt.width, tt.lines, got, tt.want)
		}
	}
}
