package render

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// ambiguousScalars are strings that some YAML loader reads as something else when they
// are printed plain: YAML 1.1 merge and value keys, booleans, nulls, numbers in every
// base, sexagesimals, timestamps, infinities, and what the parser takes for syntax.
var ambiguousScalars = []string{
	"<<", "=", "~", "", " ", "null", "Null", "NULL", "y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "False",
	"0", "-1", "+1", "1_000", "0x1F", "0o17", "017", "0b101", "1:20", "1:20:30.5", "1.5", "1e3", ".inf", "-.Inf", ".nan",
	"2026-12-07", "2026-12-07T07:15:25Z", "2001-12-14 21:59:43.10 -5", "- a", "a: b", "a #b", "#x", "!tag", "&anchor", "*alias",
	"%YAML", "@x", "`x", "|", ">", "'q'", `"q"`, "[a]", "{a: 1}", "? x", "a\\b", "tab\there", "nl\nx", "\ufeffbom",
	"\u200bzw", "eth0\u200b", "\u3164", "\U000e0041tag", "\u00a0nbsp", "x\u00ad", "\u202eevil", "\ufffe", "\x85nel",
	"a  b", "ends ", "---", "...", "NO_PROXY", "/etc/resolv.conf", "tcp://10.0.0.1:53", "ü", "😀",
}

// ambiguousResult carries every ambiguous scalar as a subject, a key, a value, a message
// and an evidence map key.
func ambiguousResult() *diff.Result {
	res := &diff.Result{Subjects: []string{"a", "b"}}
	for i, s := range ambiguousScalars {
		res.Rows = append(res.Rows, diff.Row{Section: "env", Key: s + "/" + string(rune('A'+i%26)) + strings.Repeat("k", i), Kind: probe.Exact,
			Values: []string{s, "v" + s}, Missing: []bool{false, false}})
		res.Findings = append(res.Findings, diff.Finding{ID: "f" + s, Kind: diff.Cause, Severity: diff.High, Rule: "env/" + s, Message: s,
			Keys: []string{s}, Evidence: []diff.Evidence{{Row: s, Values: map[string]string{"a": s, "b": s + "x"}}}})
	}
	return res
}

// checkYAMLLoaders renders doc as yaml and json and checks that go-yaml v2 (through
// sigs.k8s.io/yaml, YAML 1.1) and go-yaml v3 (YAML 1.2) read the yaml as the json's data.
func checkYAMLLoaders(t *testing.T, name string, doc Document) {
	t.Helper()
	y, err := marshalYAML(doc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	j, err := marshalJSON(doc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var want any
	if err := json.Unmarshal(j, &want); err != nil {
		t.Fatal(err)
	}
	j2, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("%s: go-yaml v2 refuses the yaml: %v\n%s", name, err, y)
	}
	var v2 any
	if err := json.Unmarshal(j2, &v2); err != nil || !reflect.DeepEqual(v2, want) {
		t.Errorf("%s: go-yaml v2 reads other data (%v):\n%s", name, err, y)
	}
	var v3 any
	if err := yamlv3.Unmarshal(y, &v3); err != nil {
		t.Fatalf("%s: go-yaml v3 refuses the yaml: %v\n%s", name, err, y)
	}
	if b, err := json.Marshal(v3); err != nil || json.Unmarshal(b, &v3) != nil || !reflect.DeepEqual(v3, want) {
		t.Errorf("%s: go-yaml v3 reads other data (%v):\n%s", name, err, y)
	}
}

func TestYAMLAmbiguousScalars(t *testing.T) {
	checkYAMLLoaders(t, "ambiguous", NewDocument(ambiguousResult(), true))
}

// Outside Go: PyYAML, with its pure-Python loader and with libyaml's (CSafeLoader), both
// YAML 1.1, read -o yaml as the same data as -o json. python3-yaml is in hack/packages.txt.
func TestYAMLReadByPyYAML(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatal("/usr/bin/python3 comes from the Debian package python3-minimal: run hack/deps.sh")
	}
	results := map[string]*diff.Result{"ambiguous": ambiguousResult(), "real": realResult(t)}
	for _, h := range hostile {
		results["hostile "+h.name] = hostileResult(h.s)
	}
	const script = `
import json, sys, yaml
data = sys.stdin.buffer.read()
out = {}
for name, loader in (("SafeLoader", yaml.SafeLoader), ("CSafeLoader", getattr(yaml, "CSafeLoader", None))):
    if loader is None:
        sys.exit("PyYAML has no libyaml loader: install python3-yaml")
    out[name] = yaml.load(data, Loader=loader)
json.dump(out, sys.stdout)
`
	for name, res := range results {
		var y, j bytes.Buffer
		if err := Render(&y, res, "yaml", Options{All: true}); err != nil {
			t.Fatal(err)
		}
		if err := Render(&j, res, "json", Options{All: true}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/usr/bin/python3", "-c", script)
		cmd.Stdin = bytes.NewReader(y.Bytes())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if strings.Contains(stderr.String(), "No module named") {
				t.Fatalf("PyYAML is missing: it comes from the Debian package python3-yaml (run hack/deps.sh)")
			}
			t.Fatalf("%s: PyYAML refuses the yaml: %v\n%s\n%s", name, err, stderr.String(), y.String())
		}
		var got map[string]any
		var want any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(j.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		for loader, v := range got {
			if !reflect.DeepEqual(v, want) {
				t.Errorf("%s: PyYAML's %s reads other data than -o json:\n%s", name, loader, y.String())
			}
		}
	}
}
