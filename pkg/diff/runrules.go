package diff

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netdiff/kubectl-netdiff/pkg/safe"
)

// runRules runs every rule on c. A panicking rule costs only its own findings: it
// becomes an Info finding naming the rule, so one broken plugin cannot hide the rest.
// Rules only read c, and together they are about half of a diff's time, so they run on
// as many goroutines as there are processors; the findings keep the rules' order.
func runRules(ctx context.Context, c *Comparison, rules []namedRule) ([]Finding, error) {
	results := make([][]Finding, len(rules))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(rules)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(rules) || ctx.Err() != nil {
					return
				}
				results[i] = ruleFindings(rules[i], c)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Finding
	for _, fs := range results {
		out = append(out, fs...)
	}
	return out, nil
}

// ruleFindings runs one rule and names its findings after it.
func ruleFindings(nr namedRule, c *Comparison) []Finding {
	fs, err := safeRule(nr, c)
	if err != nil {
		return []Finding{{Severity: Info, Rule: nr.Name,
			Message: fmt.Sprintf("rule %s failed (%v); its findings are missing: please report this bug", nr.Name, err)}}
	}
	for i := range fs {
		if fs[i].Rule == "" {
			fs[i].Rule = nr.Name
		}
		if fs[i].Keys == nil {
			fs[i].Keys = []string{}
		}
	}
	return fs
}

func safeRule(nr namedRule, c *Comparison) ([]Finding, error) {
	return safe.Call(func() ([]Finding, error) { return nr.Value(c), nil })
}

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
	r, ok := rules.Lookup(name)
	if !ok {
		return []Finding{{Severity: Info, Rule: name, Message: "no rule " + name + " is registered"}}
	}
	fs, _ := runRules(context.Background(), c, []namedRule{{Name: name, Value: r}})
	return fs
}
