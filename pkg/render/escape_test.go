package render

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// hostile strings a compromised pod can put in any report string.
var hostile = []struct{ name, s string }{
	{"newline fakes a line", "ok\nCRITICAL   injected fake finding line"},
	{"carriage return overwrites", "ok\rCRITICAL   overwritten"},
	{"ESC clears the screen", "x\x1b[2Jy"},
	{"C1 CSI", "x\u009b2Jy"},
	{"C1 NEL", "x\u0085y"},
	{"DEL", "x\x7fy"},
	{"NUL and BEL", "x\x00\x07y"},
	{"RLO", "x\u202eexe.txt"},
	{"LRE PDF", "\u202ax\u202c"},
	{"isolates", "\u2066a\u2067b\u2068c\u2069"},
	{"marks", "a\u200eb\u200fc\u061cd"},
	{"line separator", "a\u2028b\u2029c"},
	{"invalid UTF-8", "a\xffb"},
	{"noncharacters YAML refuses", "x\ufffey\uffff"},
}

// rawUnsafe returns the first forbidden rune (or invalid byte) raw in s, or "". It keeps
// its own list, so that a rune dropped from unsafeRune fails the test.
func rawUnsafe(s string) string {
	forbidden := func(r rune) bool {
		return r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
			r == 0x200e || r == 0x200f || r == 0x061c || r == 0x2028 || r == 0x2029
	}
	for i, r := range s {
		if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 && r == utf8.RuneError || forbidden(r) {
			return s[i:min(len(s), i+4)]
		}
	}
	return ""
}

// hostileResult puts s in every string a pod can influence: subject name, key, value,
// finding message, checked note, evidence.
func hostileResult(s string) *diff.Result {
	a, b := "pod-a", "pod-"+s
	return &diff.Result{
		Subjects: []string{a, b},
		Findings: []diff.Finding{
			{ID: "f1", Kind: diff.Cause, Severity: diff.High, Rule: "env/differs", Subject: b, Keys: []string{"env/" + s},
				Evidence: []diff.Evidence{{Row: "env/" + s, Values: map[string]string{a: "-", b: s}}},
				Explains: []string{"f2"}, Message: "value " + s + " differs"},
			{ID: "f2", Kind: diff.Symptom, Severity: diff.Low, Rule: "x/y", Keys: []string{"x/" + s}, ExplainedBy: []string{"f1"}, Message: "symptom " + s},
			{ID: "f3", Kind: diff.Symptom, Severity: diff.Low, Rule: "x/z", Keys: []string{"x/z"}, Message: "unexplained", Checked: "checked " + s},
		},
		Rows: []diff.Row{{Section: "env", Key: "K" + s, Kind: probe.Exact, Values: []string{"-", "v" + s}, Missing: []bool{true, false}},
			// A section name is a key of the report's sections object: the pod chooses it.
			{Section: "section" + s, Key: "k", Kind: probe.Exact, Values: []string{"x", "y"}, Missing: []bool{false, false}}},
	}
}

func TestRenderEscapesHostileStrings(t *testing.T) {
	for _, h := range hostile {
		for _, format := range Formats {
			t.Run(h.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, hostileResult(h.s), format, Options{All: true}); err != nil {
					t.Fatalf("render: %v", err)
				}
				out := buf.String()
				if r := rawUnsafe(strings.ReplaceAll(out, "\n", "")); r != "" {
					t.Fatalf("raw %q in output:\n%s", r, out)
				}
				switch format {
				case "table", "wide":
					for _, l := range strings.Split(out, "\n") {
						if strings.Contains(l, "injected fake") && !strings.Contains(l, `ok\nCRITICAL`) {
							t.Errorf("a value started its own line: %q", l)
						}
					}
				case "json", "yaml":
					// Valid, and the exact strings come back.
					var doc Document
					var err error
					if format == "json" {
						err = json.Unmarshal(buf.Bytes(), &doc)
					} else {
						err = yaml.Unmarshal(buf.Bytes(), &doc)
					}
					if err != nil {
						t.Fatalf("%s does not parse: %v\n%s", format, err, out)
					}
					want := strings.ToValidUTF8(h.s, "\ufffd")
					if doc.Subjects[1] != "pod-"+want || doc.Rows[0].Values[1] != "v"+want || doc.Findings[0].Message != "value "+want+" differs" ||
						doc.Findings[0].Evidence[0].Values["pod-"+want] != want || doc.Findings[2].Checked != "checked "+want {
						t.Errorf("%s lost the value: %+v", format, doc)
					}
				}
			})
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcode …", "plain text, ünïcode …"},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\r\nb`},
		{"a\tb", `a\tb`},
		// Invisible and blank-looking runes: "eth0" and "eth0"+U+200B must not look alike.
		{"eth0\u200b", `eth0\u200b`},
		{"\u200c\u200d\u2060\ufeff\u00ad", `\u200c\u200d\u2060\ufeff\u00ad`},
		{"\u3164\u115f\uffa0\u2800", `\u3164\u115f\uffa0\u2800`},
		{"\U000e0041\U000e007f", `\U000e0041\U000e007f`},
		{"a\u00a0b\u3000c\u2003d", `a\u00a0b\u3000c\u2003d`},
		{"\ufe0f", `\ufe0f`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"\u009b2J", `\u009b2J`},
		{"\x7f", `\x7f`},
		{"\u202eevil", `\u202eevil`},
		{"\u2066\u2069\u200e\u200f\u061c", `\u2066\u2069\u200e\u200f\u061c`},
		{"a\xffb", `a\xffb`},
		{"real \ufffd kept", "real \ufffd kept"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCap(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789abc", 10, "0123456789…(3 more bytes)"},
		{"ééééé", 3, "é…(8 more bytes)"}, // never cut inside a rune
		{"anything", 0, "anything"},
	}
	for _, tt := range tests {
		if got := Cap(tt.in, tt.max); got != tt.want {
			t.Errorf("Cap(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestLongCellsAndMessagesAreCapped(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	res := &diff.Result{
		Subjects: []string{"a", "b"},
		Findings: []diff.Finding{{ID: "f1", Kind: diff.Cause, Severity: diff.High, Rule: "r", Keys: []string{"s/" + long}, Message: "m" + long}},
		Rows:     []diff.Row{{Section: "s", Key: long, Values: []string{"x", long}, Missing: []bool{false, false}}},
	}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, res, format, Options{}); err != nil {
			t.Fatal(err)
		}
		switch format {
		case "table", "wide":
			if buf.Len() > 64<<10 {
				t.Errorf("%s: %d bytes of output for 1 MiB strings", format, buf.Len())
			}
			if !strings.Contains(buf.String(), "more bytes)") {
				t.Errorf("%s: no visible cut", format)
			}
		case "html", "markdown":
			if buf.Len() > 128<<10 {
				t.Errorf("%s: %d bytes of output for 1 MiB strings", format, buf.Len())
			}
			if !strings.Contains(buf.String(), "more bytes)") {
				t.Errorf("%s: no visible cut", format)
			}
		default:
			var doc Document
			if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil { // JSON is YAML too
				t.Fatal(err)
			}
			want := "…(" + strconv.Itoa(len(long)+1-MaxMessageBytes) + " more bytes)"
			if m := doc.Findings[0].Message; !strings.HasSuffix(m, want) || len(m) != MaxMessageBytes+len(want) {
				t.Errorf("%s: message of %d bytes not cut with %q", format, len(m), want)
			}
		}
	}
}

// One fact is one row: a key or value with runs of spaces, leading or trailing spaces,
// or invisible characters cannot print as two rows or as another fact. Every line of the
// rows table either starts a row (a key at the KEY column, not indented) or continues one
// (indented by continuation); a cell never starts with a space.
func TestOneFactOneRow(t *testing.T) {
	forged := strings.Repeat(" ", 60) + "eth0/mtu" + strings.Repeat(" ", 30) + "1500"
	res := &diff.Result{Subjects: []string{"a", "b"}, Rows: []diff.Row{
		{Section: "env", Key: "K" + forged, Kind: probe.Exact, Values: []string{"v" + forged, " lead"}, Missing: []bool{false, false}},
		{Section: "env", Key: "eth0\u200b", Kind: probe.Exact, Values: []string{"x", "y"}, Missing: []bool{false, false}},
		{Section: "env", Key: "trail ", Kind: probe.Exact, Values: []string{"a\u3000b", "a  b"}, Missing: []bool{false, false}},
	}}
	for _, format := range []string{"table", "wide"} {
		var buf bytes.Buffer
		if err := Render(&buf, res, format, Options{All: true}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "eth0\u200b") || strings.ContainsFunc(out, invisibleRune) {
			t.Errorf("%s: a raw invisible rune:\n%s", format, out)
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		keyCol := strings.Index(lines[0], "KEY")
		rows := 0
		for _, l := range lines[1:] {
			if l == "" || strings.Contains(l, "facts") {
				break
			}
			if len(l) <= keyCol || l[keyCol] == ' ' {
				if !strings.HasPrefix(l[keyCol:], continuation) {
					t.Errorf("%s: line %q is neither a row nor a continuation", format, l)
				}
				continue
			}
			rows++
		}
		if rows != len(res.Rows) {
			t.Errorf("%s: %d rows printed for %d facts:\n%s", format, rows, len(res.Rows), out)
		}
		if !strings.Contains(out, "trail"+visibleSpace) || !strings.Contains(out, "a"+visibleSpace+visibleSpace+"b") || !strings.Contains(out, `a\u3000b`) {
			t.Errorf("%s: spaces not shown:\n%s", format, out)
		}
	}
}
