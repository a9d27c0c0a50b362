package render

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// asEncoded is s as JSON carries it: every byte that is not UTF-8 becomes U+FFFD.
func asEncoded(s string) string {
	var b strings.Builder
	for i, r := range s {
		if _, size := utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// blockScalar is a YAML line that starts a literal or folded scalar: the one way a raw
// newline could be part of a value.
var blockScalar = regexp.MustCompile(`(?m)(:|^\s*-) [|>][-+0-9]*$`)

// FuzzMachineFormats renders a Result whose every pod-influenced string is arbitrary in
// json and yaml: the output parses back to the same strings and holds no raw control or
// bidi character (nor a raw newline inside a value).
func FuzzMachineFormats(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.s, "v"+h.s, "message "+h.s, h.s)
	}
	f.Add("web-a", "via 10.244.0.1 dev eth0", "default/web-b has no default route", "routes")
	f.Add("yes", "1e3", "~", "null")
	f.Add("\ufeffbom", "\ufffe\uffff", "a: b\n- c", "#x")
	f.Fuzz(func(t *testing.T, name, value, message, section string) {
		a, b := "pod-"+name, "other-"+name
		res := &diff.Result{
			Subjects: []string{a, b},
			Findings: []diff.Finding{{ID: "f1", Kind: diff.Cause, Severity: diff.High, Rule: "env/differs", Subject: b,
				Keys: []string{section + "/" + value}, Evidence: []diff.Evidence{{Row: section + "/" + value, Values: map[string]string{a: value, b: name}}},
				Message: message, Checked: value}},
			Rows: []diff.Row{{Section: section, Key: value, Kind: probe.Exact, Values: []string{name, value}, Missing: []bool{false, false}}},
		}
		checkYAMLLoaders(t, "fuzzed", NewDocument(res, true))
		for _, format := range []string{"json", "yaml"} {
			var buf bytes.Buffer
			if err := Render(&buf, res, format, Options{All: true}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			out := buf.String()
			if r := rawUnsafe(strings.ReplaceAll(out, "\n", "")); r != "" {
				t.Fatalf("%s: raw %q in the output:\n%s", format, r, out)
			}
			var doc Document
			var err error
			if format == "json" {
				err = json.Unmarshal(buf.Bytes(), &doc)
			} else {
				if m := blockScalar.FindString(out); m != "" {
					t.Fatalf("yaml: a block scalar (%q) carries raw newlines:\n%s", m, out)
				}
				err = yaml.Unmarshal(buf.Bytes(), &doc)
			}
			if err != nil {
				t.Fatalf("%s does not parse: %v\n%s", format, err, out)
			}
			enc := asEncoded
			if len(doc.Subjects) != 2 || doc.Subjects[0] != enc(a) || doc.Subjects[1] != enc(b) {
				t.Errorf("%s: subjects %q, want %q", format, doc.Subjects, []string{enc(a), enc(b)})
			}
			if len(doc.Rows) != 1 || doc.Rows[0].Section != enc(section) || doc.Rows[0].Key != enc(value) ||
				len(doc.Rows[0].Values) != 2 || doc.Rows[0].Values[0] != enc(name) || doc.Rows[0].Values[1] != enc(value) {
				t.Errorf("%s: rows %+v", format, doc.Rows)
			}
			if len(doc.Findings) != 1 {
				t.Fatalf("%s: %d findings", format, len(doc.Findings))
			}
			fd := doc.Findings[0]
			if fd.Message != enc(Cap(message, MaxMessageBytes)) || fd.Checked != enc(Cap(value, MaxMessageBytes)) || fd.Subject != enc(b) ||
				len(fd.Keys) != 1 || fd.Keys[0] != enc(section+"/"+value) {
				t.Errorf("%s: finding %+v", format, fd)
			}
			if len(fd.Evidence) != 1 || fd.Evidence[0].Values[enc(a)] != enc(value) || fd.Evidence[0].Values[enc(b)] != enc(name) {
				t.Errorf("%s: evidence %+v", format, fd.Evidence)
			}
		}
	})
}

// TestYAMLReadsBackAsJSON prints every test result as yaml and as json: every YAML
// loader in Go reads the yaml back as the same data as the json (yaml_loaders_test.go
// adds PyYAML and libyaml).
func TestYAMLReadsBackAsJSON(t *testing.T) {
	results := map[string]*diff.Result{"sample": sortedSample(), "same": same(), "three": three(), "real": realResult(t), "big": bigResult(3000)}
	for _, h := range hostile {
		results["hostile "+h.name] = hostileResult(h.s)
	}
	for name, res := range results {
		for _, all := range []bool{false, true} {
			checkYAMLLoaders(t, name, NewDocument(res, all))
		}
	}
}
