package diff

import (
	"sort"
	"sync"
)

var (
	rulesMu sync.RWMutex
	rules   = map[string]Rule{}
)

// RegisterRule adds a finding rule; plugins declare theirs in section.Register, tests add
// their own here.
func RegisterRule(name string, r Rule) {
	rulesMu.Lock()
	defer rulesMu.Unlock()
	if _, dup := rules[name]; dup {
		panic("diff: rule " + name + " registered twice")
	}
	rules[name] = r
}

// registeredRules returns the rules sorted by name, so output order is stable.
func registeredRules() []Rule {
	named := registeredNamedRules()
	out := make([]Rule, 0, len(named))
	for _, nr := range named {
		out = append(out, nr.rule)
	}
	return out
}

type namedRule struct {
	name string
	rule Rule
}

func registeredNamedRules() []namedRule {
	rulesMu.RLock()
	defer rulesMu.RUnlock()
	out := make([]namedRule, 0, len(rules))
	for n, r := range rules {
		out = append(out, namedRule{n, r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// RuleNames lists the registered rules, sorted.
func RuleNames() []string {
	var out []string
	for _, nr := range registeredNamedRules() {
		out = append(out, nr.name)
	}
	return out
}
