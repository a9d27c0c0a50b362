// Package section is how a probe plugin declares itself: one Register call in its init
// carries its section's name and phase, its collector (prober side), how its stored
// section becomes facts (client side), its finding rules and its part in the diagnosis.
package section

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Descriptor is everything a plugin contributes. S is the Go type of its section: the
// stored JSON is decoded into it once, here, before Facts and Identity see it.
type Descriptor[S any] struct {
	Name string
	// Phase says when the collector runs: probe.Passive reads state once the active
	// probes are done (a window opener as the window closes), probe.Active sends traffic
	// inside the window, probe.Static reads state the probes do not change while they run.
	Phase probe.Phase
	// Collector makes a fresh collector for one collection (so it may keep state between
	// Begin and Collect); it may also implement probe.WindowOpener and
	// probe.DefaultTargeter. Nil for a section that is filled outside the prober.
	Collector func() probe.Collector
	// Facts flattens the section into keyed facts for the diff.
	Facts func(s *S) []probe.Fact
	// Identity lists values unique to the subject (its IPs, MACs, names), which the diff
	// normalises; optional.
	Identity func(s *S) probe.SelfValues
	// Rules are the finding rules, by their name within the section: "moved" is
	// registered (and reported) as "<Name>/moved".
	Rules map[string]contract.Rule
	// Analysis is the section's part in the diagnosis; its Section is set to Name.
	Analysis *contract.Analysis
	// NodeWatch, when set, makes the section one a node pod also collects beside a pod's
	// probe window (kubectl netdiff --node-side: the node pod's prober, in the node's
	// namespace, opens its window as the pod's probes start and closes it when they end).
	// It joins the node's section into the pod's: own is the pod's (nil when its report
	// has none), node the node pod's (nil when there is none, and then nodeErr says why).
	NodeWatch func(own, node *S, nodeErr string) *S
	// NodeSide, when set, makes the section the pod as its node sees it (kubectl netdiff
	// --node-side and --via node): a node pod's prober collects it for one pod, given
	// --pod-ip for each of the pod's addresses and the flags NodeSide returns from the
	// pod's own report. One section at most is the node side.
	NodeSide func(rep *report.Report, podIPs []string) []string
}

// Register adds a plugin. It panics on a descriptor that cannot be right (no name or no
// Facts, a rule name with a slash), as the registries do on a name registered twice:
// these are programming errors, found by any test.
func Register[S any](d Descriptor[S]) {
	if d.Name == "" || d.Facts == nil {
		panic("section: descriptor without a name or Facts")
	}
	for name := range d.Rules {
		if name == "" || strings.Contains(name, "/") {
			panic("section: rule name " + name + " of " + d.Name + ": give the part after " + d.Name + "/")
		}
	}
	probe.Register(d.Name, func() probe.Plugin {
		p := &plugin[S]{d: &d}
		if d.Collector != nil {
			p.c = d.Collector()
		}
		return p
	})
	for name, r := range d.Rules {
		diff.RegisterRule(d.Name+"/"+name, r)
	}
	if d.NodeSide != nil {
		if nodeSide.name != "" {
			panic("section: " + d.Name + " and " + nodeSide.name + " both say they are the node side")
		}
		nodeSide.name, nodeSide.args = d.Name, d.NodeSide
	}
	if d.NodeWatch != nil {
		nodeWatch[d.Name] = func(own, node json.RawMessage, nodeErr string) (json.RawMessage, error) {
			var o, n *S
			var err error
			if len(own) > 0 {
				if o, err = decode[S](d.Name, own); err != nil {
					return nil, err
				}
			}
			if len(node) > 0 {
				if n, err = decode[S](d.Name, node); err != nil {
					nodeErr, n = "the node pod's section: "+err.Error(), nil
				}
			}
			return json.Marshal(d.NodeWatch(o, n, nodeErr))
		}
	}
	if d.Analysis != nil {
		a := *d.Analysis
		a.Section = d.Name
		diagnosis.RegisterAnalysis(a)
	}
}

// Facts flattens a stored section of the named plugin: what the diff does, for tests and
// tools that hold one section.
func Facts(name string, raw json.RawMessage) ([]probe.Fact, error) {
	p, ok := probe.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no plugin %q", name)
	}
	return p.Facts(raw)
}

// Reencode decodes a stored section of the named plugin into its Go type and encodes it
// again: what this build keeps of a section written by another. A test holds it against
// saved reports, so a change to a section's Go type cannot silently change its schema.
func Reencode(name string, raw json.RawMessage) (json.RawMessage, error) {
	p, ok := probe.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no plugin %q", name)
	}
	r, ok := p.(interface {
		reencode(json.RawMessage) (json.RawMessage, error)
	})
	if !ok {
		return nil, fmt.Errorf("plugin %q is not registered through a descriptor", name)
	}
	return r.reencode(raw)
}

// plugin is the probe.Plugin the registry hands out for a descriptor.
type plugin[S any] struct {
	d *Descriptor[S]
	c probe.Collector
}

// errNoCollector: the section is not the prober's to collect (the "pod" section comes
// from the API server).
var errNoCollector = errors.New("this section is not collected by the prober")

func (p *plugin[S]) Name() string       { return p.d.Name }
func (p *plugin[S]) Phase() probe.Phase { return p.d.Phase }

func (p *plugin[S]) Collect(ctx context.Context, env *probe.Env) (any, error) {
	if p.c == nil {
		return nil, errNoCollector
	}
	return p.c.Collect(ctx, env)
}

func (p *plugin[S]) Begin(ctx context.Context, env *probe.Env) error {
	if w, ok := p.c.(probe.WindowOpener); ok {
		return w.Begin(ctx, env)
	}
	return nil
}

// OpensWindow tells whether Begin does anything: only then does the section read last,
// as the window closes.
func (p *plugin[S]) OpensWindow() bool {
	_, ok := p.c.(probe.WindowOpener)
	return ok
}

func (p *plugin[S]) DefaultTargets(ctx context.Context, env *probe.Env) []target.Target {
	if d, ok := p.c.(probe.DefaultTargeter); ok {
		return d.DefaultTargets(ctx, env)
	}
	return nil
}

func (p *plugin[S]) decode(raw json.RawMessage) (*S, error) { return decode[S](p.d.Name, raw) }

func decode[S any](name string, raw json.RawMessage) (*S, error) {
	s := new(S)
	if err := report.UnmarshalExact(raw, s); err != nil {
		return nil, fmt.Errorf("section %s: %w", name, err)
	}
	return s, nil
}

// nodeSide is the section registered with a NodeSide.
var nodeSide struct {
	name string
	args func(*report.Report, []string) []string
}

// NodeSideName names the section that is the pod as its node sees it, "" where this
// build has none.
func NodeSideName() string { return nodeSide.name }

// NodeSide names the section that is the pod as its node sees it and gives the prober
// flags that collect it for a pod with podIPs, from the pod's report; "" where this
// build has none.
func NodeSide(rep *report.Report, podIPs []string) (name string, args []string) {
	if nodeSide.name == "" {
		return "", nil
	}
	args = []string{"--only", nodeSide.name}
	for _, ip := range podIPs {
		args = append(args, "--pod-ip", ip)
	}
	return nodeSide.name, append(args, nodeSide.args(rep, podIPs)...)
}

// nodeWatch holds the join of every section registered with a NodeWatch.
var nodeWatch = map[string]func(own, node json.RawMessage, nodeErr string) (json.RawMessage, error){}

// NodeWatched lists, sorted, the sections a node pod collects beside a pod's probe
// window (Descriptor.NodeWatch).
func NodeWatched() []string {
	out := make([]string, 0, len(nodeWatch))
	for name := range nodeWatch {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// JoinNode joins the node pod's stored section into the pod's (see Descriptor.NodeWatch):
// own or node may be empty, and then nodeErr says why the node's is missing.
func JoinNode(name string, own, node json.RawMessage, nodeErr string) (json.RawMessage, error) {
	join, ok := nodeWatch[name]
	if !ok {
		return nil, fmt.Errorf("section %q is not watched from the node", name)
	}
	return join(own, node, nodeErr)
}

func (p *plugin[S]) reencode(raw json.RawMessage) (json.RawMessage, error) {
	s, err := p.decode(raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

func (p *plugin[S]) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	s, err := p.decode(raw)
	if err != nil {
		return nil, err
	}
	return p.d.Facts(s), nil
}

func (p *plugin[S]) Identity(raw json.RawMessage) (probe.SelfValues, error) {
	if p.d.Identity == nil {
		return probe.SelfValues{}, nil
	}
	s, err := p.decode(raw)
	if err != nil {
		return probe.SelfValues{}, err
	}
	return p.d.Identity(s), nil
}
