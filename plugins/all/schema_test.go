package all_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all/cluster" // the API sections too, as kubectl-netdiff has them
)

// Every section of a saved report survives this build's Go types: decoded and encoded
// again, nothing it held is lost or renamed (fields added since, left at their zero
// value, are allowed). The reports are golden: v1 from the e2e cluster, and a fresh one
// from the real prober in a namespace; a refactor that changes a section's Go type in a
// way that changes its JSON fails here.
func TestSectionsSurviveTheirGoTypes(t *testing.T) {
	reports := map[string]*report.Report{}
	for _, f := range []string{"v1-web-a.json", "v1-web-broken.json"} {
		b, err := os.ReadFile("../../pkg/report/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := report.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		reports[f] = rep
	}
	if os.Geteuid() == 0 {
		ns := netnstest.New(t, "schema")
		ns.IP("addr", "add", "10.221.0.2/24", "dev", "lo")
		reports["fresh"] = ns.Collect("-q", "--timeout", "1s", "--attempts", "1", "--burst", "1")
		if cpu := reports["fresh"].CPUMS; cpu <= 0 {
			t.Errorf("the prober reports %d ms of CPU for a whole collection", cpu)
		}
	}
	checked := 0
	for name, rep := range reports {
		for sec, raw := range rep.Sections {
			if _, ok := probe.Lookup(sec); !ok {
				continue // a plugin this build leaves out (hack/without-plugins.sh)
			}
			again, err := section.Reencode(sec, raw)
			if err != nil {
				t.Errorf("%s: section %s: %v", name, sec, err)
				continue
			}
			var before, after any
			if err := json.Unmarshal(raw, &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &after); err != nil {
				t.Fatal(err)
			}
			for _, lost := range missing("", before, after) {
				t.Errorf("%s: section %s: %s", name, sec, lost)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d sections checked", checked)
	}
}

// A field that holds something else after the round trip is refused; the check itself
// must be able to fail.
func TestMissingFindsLostFields(t *testing.T) {
	var before, after any
	_ = json.Unmarshal([]byte(`{"a":1,"b":{"c":[1,2]},"d":"x"}`), &before)
	_ = json.Unmarshal([]byte(`{"a":1,"b":{"c":[1]},"e":"x"}`), &after)
	if got := missing("", before, after); len(got) != 3 {
		t.Errorf("missing = %q, want b.c, d and e", got)
	}
}

// missing lists what of before is not in after: keys gone, values changed. Keys only in
// after must hold zero values (null, false, 0, "", [], {}).
func missing(path string, before, after any) []string {
	switch b := before.(type) {
	case map[string]any:
		a, ok := after.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: an object became %T", path, after)}
		}
		var out []string
		keys := make([]string, 0, len(b))
		for k := range b {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, ok := a[k]
			if !ok {
				if !isZero(b[k]) {
					out = append(out, fmt.Sprintf("%s.%s: lost", path, k))
				}
				continue
			}
			out = append(out, missing(path+"."+k, b[k], av)...)
		}
		for k, v := range a {
			if _, ok := b[k]; !ok && !isZero(v) {
				out = append(out, fmt.Sprintf("%s.%s: appeared with %v", path, k, v))
			}
		}
		return out
	case []any:
		a, ok := after.([]any)
		if !ok || len(a) != len(b) {
			return []string{fmt.Sprintf("%s: a list of %d became %v", path, len(b), after)}
		}
		var out []string
		for i := range b {
			out = append(out, missing(fmt.Sprintf("%s[%d]", path, i), b[i], a[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(before, after) {
		return []string{fmt.Sprintf("%s: %v became %v", path, before, after)}
	}
	return nil
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
