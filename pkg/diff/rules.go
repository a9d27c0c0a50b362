package diff

import "github.com/netdiff/kubectl-netdiff/pkg/registry"

var rules = registry.New[Rule]("finding rule")

// RegisterRule adds a finding rule; plugins declare theirs in section.Register, tests add
// their own here.
func RegisterRule(name string, r Rule) { rules.Register(name, r) }

// namedRule is a rule and the name its findings carry.
type namedRule = registry.Entry[Rule]

// registeredNamedRules returns the rules sorted by name, so output order is stable.
func registeredNamedRules() []namedRule { return rules.Sorted() }

// RuleNames lists the registered rules, sorted.
func RuleNames() []string {
	var out []string
	for _, nr := range registeredNamedRules() {
		out = append(out, nr.Name)
	}
	return out
}
