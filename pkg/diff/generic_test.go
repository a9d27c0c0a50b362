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
func (brokenPlugin) Identity(json.RawMessage) (probe.Identity, error) { panic("boom") }

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
