package report

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

const good = `{"schemaVersion":"netdiff.report/v1","proberVersion":"v1","hostname":"h","time":"2026-01-01T00:00:00Z","durationMs":3,"pid":1,"sections":{"x":{"a":1}}}`

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, errHas string
	}{
		{"good", good, ""},
		{"empty", "", "empty report"},
		{"truncated", good[:len(good)/2], "malformed report"},
		{"not json", "error: exec failed", "malformed report"},
		{"other schema", strings.Replace(good, "netdiff.report/v1", "netdiff.report/v9", 1), "unsupported report schema"},
		{"no sections", `{"schemaVersion":"netdiff.report/v1"}`, "no sections"},
	}
	for _, tt := range tests {
		rep, err := Decode(strings.NewReader(tt.in))
		if tt.errHas == "" {
			if err != nil || rep.Hostname != "h" {
				t.Errorf("%s: %v %+v", tt.name, err, rep)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errHas) || rep != nil {
			t.Errorf("%s: err = %v, want %q and no report", tt.name, err, tt.errHas)
		}
	}
	_, err := Decode(strings.NewReader(strings.Replace(good, "v1\"", "v2\"", 1)))
	if !errors.Is(err, ErrSchema) {
		t.Errorf("schema mismatch must wrap ErrSchema: %v", err)
	}
}

func TestErrorOf(t *testing.T) {
	e := ErrorOf(fmt.Errorf("connect 10.0.0.1:80: %w", syscall.ENETUNREACH))
	if e.Errno != "ENETUNREACH" || e.Code != 101 || !strings.Contains(e.Message, "network is unreachable") {
		t.Errorf("ErrorOf = %+v", e)
	}
	if ErrorOf(nil) != nil || (*Error)(nil).Name() != "" {
		t.Error("nil must stay nil")
	}
	if n := ErrorOf(errors.New("plain")).Name(); n != "plain" {
		t.Errorf("Name without errno = %q", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(good)
	f.Add(`{"schemaVersion":"netdiff.report/v1","sections":{}}`)
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := Decode(strings.NewReader(s))
		if (rep == nil) == (err == nil) {
			t.Fatalf("exactly one of report and error must be set: %v %v", rep, err)
		}
	})
}

// A report is one JSON document with no key twice: otherwise "last one wins" decides what
// it says (a second schemaVersion, a second section of the same name).
func TestDecodeRefusesTrailingDataAndRepeatedKeys(t *testing.T) {
	ok := `{"schemaVersion":"` + SchemaVersion + `","sections":{"a":{},"b":{}}}`
	if _, err := Decode(strings.NewReader(ok + "\n")); err != nil {
		t.Fatalf("a whole report refused: %v", err)
	}
	for name, in := range map[string]string{
		"trailing document": ok + `{"schemaVersion":"x"}`,
		"trailing garbage":  ok + "garbage",
		"repeated key":      `{"schemaVersion":"x","schemaVersion":"` + SchemaVersion + `","sections":{}}`,
		"repeated, case":    `{"schemaVersion":"` + SchemaVersion + `","SchemaVersion":"` + SchemaVersion + `","sections":{}}`,
		"repeated section":  `{"schemaVersion":"` + SchemaVersion + `","sections":{"a":{"x":1},"a":{"x":2}}}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "malformed report") {
			t.Errorf("%s: err = %v, want a malformed-report error", name, err)
		}
	}
}

// Keys are matched exactly at every level, and no object holds a key twice (exactly or
// under Go's case folding): what Go reads is what jq and Python read. Each refusal names
// the key and where it is.
func TestDecodeMatchesKeysExactly(t *testing.T) {
	head := `{"schemaVersion":"` + SchemaVersion + `",`
	for name, tt := range map[string]struct{ in, key, path string }{
		"folded sections (U+017F)": {head + `"sections":{"a":{}},"ſections":{"b":{}}}`, "ſections", "the top level"},
		"folded alone":             {head + `"ſections":{"b":{}}}`, "ſections", "the top level"},
		"Kelvin sign":              {head + `"sections":{},"subject":{"\u212aey":1,"name":"x"},"hostname":"h"}`, "", ""},
		"upper case field":         {head + `"Hostname":"h","sections":{}}`, "Hostname", "the top level"},
		"nested field folded":      {head + `"sections":{},"subject":{"NAME":"x"}}`, "NAME", `"/subject"`},
		"problem error folded":     {head + `"sections":{},"problems":[{"section":"a","error":{"ErrNo":"E"}}]}`, "ErrNo", `"/problems/0/error"`},
		"duplicate in a section":   {head + `"sections":{"zz":{"a":1,"a":2}}}`, "a", `"/sections/zz"`},
		"duplicate deep":           {head + `"sections":{"zz":{"x":[{"y":{"k":1,"k":1}}]}}}`, "k", `"/sections/zz/x/0/y"`},
		"case twins in a map":      {head + `"sections":{"zz":{"mtu":1,"MTU":2}}}`, "", ""},
		"twin section names":       {head + `"sections":{"routes":{},"ROUTES":{}}}`, "", ""},
		"case twins at the top":    {head + `"hostname":"a","HOSTNAME":"b","sections":{}}`, "HOSTNAME", "the top level"},
	} {
		_, err := Decode(strings.NewReader(tt.in))
		if tt.key == "" { // unknown keys (a newer prober's fields) and map keys that differ in case stay allowed
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "malformed report") || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.key)) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: err = %v, want a malformed-report error naming %q at %s", name, err, tt.key, tt.path)
		}
	}
}

func TestUnmarshalExact(t *testing.T) {
	type inner struct {
		Dst string `json:"dst"`
	}
	type sec struct {
		Routes []inner `json:"routes"`
		Extra  map[string]inner
	}
	var s sec
	if err := UnmarshalExact([]byte(`{"routes":[{"dst":"a"}],"Extra":{"x":{"dst":"b"}},"new":1}`), &s); err != nil || s.Routes[0].Dst != "a" || s.Extra["x"].Dst != "b" {
		t.Fatalf("exact keys refused: %v %+v", err, s)
	}
	for _, in := range []string{`{"Routes":[]}`, `{"routes":[{"DST":"a"}]}`, `{"extra":{}}`, `{"Extra":{"x":{"dſt":"b"}}}`, `{"routes":[],"routes":[]}`} {
		var s sec
		var ke *KeyError
		if err := UnmarshalExact([]byte(in), &s); !errors.As(err, &ke) {
			t.Errorf("%s: err = %v, want a KeyError", in, err)
		}
	}
}
