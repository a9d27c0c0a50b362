package section

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

type sec struct {
	Values map[string]string `json:"values"`
	IPs    []string          `json:"ips"`
}

type collector struct{ begun bool }

func (c *collector) Begin(context.Context, *probe.Env) error { c.begun = true; return nil }
func (c *collector) Collect(context.Context, *probe.Env) (any, error) {
	return sec{Values: map[string]string{"begun": map[bool]string{true: "yes", false: "no"}[c.begun]}}, nil
}
func (*collector) DefaultTargets(context.Context, *probe.Env) []target.Target {
	return []target.Target{{Scheme: target.TCP, Host: "10.0.0.1", Port: 53}}
}

func secFacts(s *sec) []probe.Fact {
	var out []probe.Fact
	for k, v := range s.Values {
		out = append(out, probe.Fact{Key: k, Value: v})
	}
	return out
}

func noRule(*contract.Comparison) []contract.Finding { return nil }

func panics(t *testing.T, want string, d Descriptor[sec]) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), want) {
			t.Errorf("Register(%+v) = panic %v, want one saying %q", d, r, want)
		}
	}()
	Register(d)
}

// Descriptors that cannot be right are refused before anything is registered.
func TestRegisterRefusesWrongDescriptors(t *testing.T) {
	panics(t, "without a name", Descriptor[sec]{Facts: secFacts})
	panics(t, "without a name or Facts", Descriptor[sec]{Name: "zz-section-a"})
	panics(t, "give the part after", Descriptor[sec]{Name: "zz-section-b", Facts: secFacts,
		Rules: map[string]contract.Rule{"zz-section-b/moved": noRule}})
	for _, p := range probe.New() {
		if strings.HasPrefix(p.Name(), "zz-section-") {
			t.Errorf("plugin %s registered by a refused descriptor", p.Name())
		}
	}
}

// The registered plugin is the descriptor: its name and phase, a fresh collector with
// its window and default targets, the section decoded once for Facts and Identity.
func TestRegisteredPluginFollowsTheDescriptor(t *testing.T) {
	Register(Descriptor[sec]{
		Name: "zz-section-ok", Phase: probe.Active,
		Collector: func() probe.Collector { return &collector{} },
		Facts:     secFacts,
		Identity:  func(s *sec) probe.SelfValues { return probe.SelfValues{IPs: s.IPs} },
	})
	p, ok := probe.Lookup("zz-section-ok")
	if !ok || p.Name() != "zz-section-ok" || p.Phase() != probe.Active {
		t.Fatalf("lookup = %v, %v", p, ok)
	}
	ctx := context.Background()
	if err := p.(probe.WindowOpener).Begin(ctx, &probe.Env{}); err != nil {
		t.Fatal(err)
	}
	v, err := p.Collect(ctx, &probe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	facts, err := Facts("zz-section-ok", raw)
	if err != nil || len(facts) != 1 || facts[0].Value != "yes" {
		t.Errorf("facts = %v, %v: want begun=yes (Begin and Collect on one collector)", facts, err)
	}
	if ts := p.(probe.DefaultTargeter).DefaultTargets(ctx, &probe.Env{}); len(ts) != 1 {
		t.Errorf("default targets = %v", ts)
	}
	id, err := p.(probe.Identifier).Identity(json.RawMessage(`{"ips":["10.0.0.5"]}`))
	if err != nil || len(id.IPs) != 1 {
		t.Errorf("identity = %+v, %v", id, err)
	}
	if _, err := p.Facts(json.RawMessage(`{"values":1}`)); err == nil || !strings.Contains(err.Error(), "section zz-section-ok") {
		t.Errorf("a section of the wrong shape: err = %v, want it named", err)
	}
}

// A section the prober does not collect (the pod section) says so when asked to.
func TestCollectorlessSectionRefusesToCollect(t *testing.T) {
	Register(Descriptor[sec]{Name: "zz-section-api", Facts: secFacts})
	p, _ := probe.Lookup("zz-section-api")
	if _, err := p.Collect(context.Background(), &probe.Env{}); err == nil {
		t.Error("a section without a collector collected")
	}
}
