package diff

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestGenericFacts(t *testing.T) {
	raw := json.RawMessage(`{"b":{"mtu":1450,"up":true,"gw":null},"a":["x",{"k":"v"}],"e":{},"l":[],"big":12345678901234567890}`)
	facts, err := genericFacts(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range facts {
		got = append(got, f.Key+"="+f.Value)
	}
	want := "a/0=x a/1/k=v b/gw=null b/mtu=1450 b/up=true big=12345678901234567890 e={} l=[]"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if f, _ := genericFacts(json.RawMessage(`"scalar"`)); len(f) != 1 || f[0].Key != "value" {
		t.Errorf("scalar section: %+v", f)
	}
	if _, err := genericFacts(json.RawMessage(`{`)); err == nil {
		t.Error("malformed JSON flattened without error")
	}
}

// brokenPlugin fails at everything the diff asks of it.
type brokenPlugin struct{}

const brokenName = "zz-broken"

func init() { probe.Register(brokenName, func() probe.Plugin { return brokenPlugin{} }) }

func (brokenPlugin) Name() string       { return brokenName }
func (brokenPlugin) Phase() probe.Phase { return probe.Passive }
func (brokenPlugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("no")
}
func (brokenPlugin) Facts(json.RawMessage) ([]probe.Fact, error) {
	return nil, errors.New("unexpected field layout")
}
func (brokenPlugin) Identity(json.RawMessage) (probe.SelfValues, error) { panic("boom") }

// A plugin that cannot read its own section does not stop the diff: the section is
// compared as plain JSON, still normalised, and the reader is told.
func TestBrokenPluginFallsBack(t *testing.T) {
	mk := func(ip string, mtu int) *report.Report {
		r := mkReport(t, "h", nil, map[string]any{brokenName: map[string]any{"addr": ip, "mtu": mtu}})
		r.Subject = &report.Subject{IPs: []string{ip}}
		return r
	}
	res, err := Compare([]string{"a", "b"}, []*report.Report{mk("10.1.0.1", 1500), mk("10.1.0.2", 1400)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &Comparison{Rows: res.Rows}
	if r, ok := c.Row(brokenName, "addr"); !ok || !r.Equal || r.Values[0] != SelfIP {
		t.Errorf("addr row = %+v (ok=%v)", r, ok)
	}
	if r, ok := c.Row(brokenName, "mtu"); !ok || r.Equal {
		t.Errorf("mtu row = %+v (ok=%v)", r, ok)
	}
	var rules []string
	for _, f := range res.Findings {
		rules = append(rules, f.Rule+": "+f.Message)
		if f.Severity != Info {
			t.Errorf("fallback finding is %v, want info: %s", f.Severity, f.Message)
		}
	}
	joined := strings.Join(rules, "\n")
	for _, want := range []string{"diff/facts: a: section zz-broken could not be read by its plugin (unexpected field layout)",
		"diff/identity: b: identity from section zz-broken: panic: boom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("findings lack %q:\n%s", want, joined)
		}
	}
}

func FuzzGenericFacts(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}],"c":"10.0.0.1"}`, `[]`, `"x"`, `{"":{"":[]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		facts, err := genericFacts(raw)
		if err != nil {
			return
		}
		if json.Valid(raw) && len(facts) == 0 {
			t.Errorf("valid JSON %q gave no facts", raw)
		}
	})
}

// The generic flattening is bounded whatever the section's shape: a value deeper than
// MaxGenericDepth is one fact (its size and digest), a long key part is cut, and the facts
// and their bytes stay within a budget proportional to the input, with a note when cut.
func TestGenericFactsBounded(t *testing.T) {
	nest := func(depth int, leaf string) []byte {
		return []byte(strings.Repeat(`{"k":`, depth) + leaf + strings.Repeat("}", depth))
	}
	zeros := "[0" + strings.Repeat(",0", 99_999) + "]"
	for name, raw := range map[string][]byte{
		"the issue's repro": nest(1000, zeros),
		"wide":              []byte(zeros),
		"long key":          []byte(`{"` + strings.Repeat("x", 1<<20) + `":` + zeros + `}`),
		"deep and wide":     nest(MaxGenericDepth-2, zeros),
	} {
		facts, err := genericFacts(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		total := 0
		for _, f := range facts {
			total += len(f.Key) + len(f.Value)
		}
		t.Logf("%s: %d bytes in, %d facts, %d bytes of keys and values", name, len(raw), len(facts), total)
		if b := newGenericBudget(len(raw)); len(facts) > b.facts+1 || total > b.bytes+(64<<10) {
			t.Errorf("%s: %d facts of %d bytes, over the budget (%d facts, %d bytes)", name, len(facts), total, b.facts, b.bytes)
		}
	}
	// Deeper than the cap: one fact, and a change below it still shows as a difference.
	a, _ := genericFacts(nest(100, "1"))
	b, _ := genericFacts(nest(100, "2"))
	if len(a) != 1 || len(b) != 1 || a[0].Key != b[0].Key || a[0].Value == b[0].Value || !strings.Contains(a[0].Value, "deeper than") {
		t.Errorf("deep values: %+v vs %+v", a, b)
	}
	// Over the budget: a note says so.
	facts, _ := genericFactsBudget([]byte(zeros), &genericBudget{facts: 10, bytes: 1 << 20})
	if len(facts) != 11 || facts[len(facts)-1].Key != GenericTruncatedKey && facts[0].Key != GenericTruncatedKey {
		t.Errorf("truncated section: %d facts, want 10 and the note", len(facts))
	}
}
