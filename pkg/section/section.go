// Package section is how a probe plugin declares itself: one Register call in its init
// carries its section's name, its collector and fact reader (pkg/probe), its finding rules
// and its part in the diagnosis (pkg/diff).
package section

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Descriptor is everything a plugin contributes.
type Descriptor struct {
	// Name is the section name; the plugin's Name() returns it.
	Name string
	// New makes the plugin: Phase, Collect (in the prober), Facts and the optional
	// interfaces of pkg/probe (on the client).
	New func() probe.Plugin
	// Rules are the finding rules, by their name within the section: "moved" is
	// registered (and reported) as "<Name>/moved".
	Rules map[string]diff.Rule
	// Analysis is the section's part in the diagnosis; its Section is set to Name.
	Analysis *diff.Analysis
}

// Register adds a plugin. It panics on a descriptor that cannot be right (no name, a
// rule name with a slash, a plugin whose Name() disagrees), as the registries do on a
// name registered twice: these are programming errors, found by any test.
func Register(d Descriptor) {
	if d.Name == "" || d.New == nil {
		panic("section: descriptor without a name or a plugin")
	}
	if got := d.New().Name(); got != d.Name {
		panic("section: plugin " + d.Name + " says its name is " + got)
	}
	for name := range d.Rules {
		if name == "" || strings.Contains(name, "/") {
			panic("section: rule name " + name + " of " + d.Name + ": give the part after " + d.Name + "/")
		}
	}
	probe.Register(d.Name, d.New)
	for name, r := range d.Rules {
		diff.RegisterRule(d.Name+"/"+name, r)
	}
	if d.Analysis != nil {
		a := *d.Analysis
		a.Section = d.Name
		diff.RegisterAnalysis(a)
	}
}
