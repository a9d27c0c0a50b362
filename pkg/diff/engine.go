package diff

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
)

// runRules runs every rule on c. A panicking rule costs only its own findings: it
// becomes an Info finding naming the rule, so one broken plugin cannot hide the rest.
func runRules(ctx context.Context, c *Comparison, rules []namedRule) ([]Finding, error) {
	var out []Finding
	for _, nr := range rules {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs, err := safeRule(nr, c)
		if err != nil {
			out = append(out, Finding{Severity: Info, Rule: nr.name,
				Message: fmt.Sprintf("rule %s failed (%v); its findings are missing: please report this bug", nr.name, err)})
			continue
		}
		for _, f := range fs {
			if f.Rule == "" {
				f.Rule = nr.name
			}
			if f.Keys == nil {
				f.Keys = []string{}
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func safeRule(nr namedRule, c *Comparison) (fs []Finding, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			if debugRules {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}
	}()
	return nr.rule(c), nil
}

// debugRules adds stack traces to rule panics; tests of rules may set it.
var debugRules = false

// sortFindings dedupes and orders findings: odd ones out first, then most severe first,
// then by rule and message.
func sortFindings(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if f.Keys == nil {
			f.Keys = []string{}
		}
		id := fmt.Sprintf("%d\x00%s\x00%s\x00%s", f.Severity, f.Rule, f.Message, strings.Join(f.Keys, "\x00"))
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		// With many subjects, who is the odd one out is the first thing to know.
		if (a.Rule == OddOneOutRule) != (b.Rule == OddOneOutRule) {
			return a.Rule == OddOneOutRule
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Message != b.Message {
			return a.Message < b.Message
		}
		return strings.Join(a.Keys, "\x00") < strings.Join(b.Keys, "\x00")
	})
	return out
}

// RunRule runs the registered rule of that name on c, as the engine does: its findings
// carry the rule's name. For tests and tools that look at one rule.
func RunRule(name string, c *Comparison) []Finding {
	rulesMu.RLock()
	r, ok := rules[name]
	rulesMu.RUnlock()
	if !ok {
		return []Finding{{Severity: Info, Rule: name, Message: "no rule " + name + " is registered"}}
	}
	fs, _ := runRules(context.Background(), c, []namedRule{{name: name, rule: r}})
	return fs
}
