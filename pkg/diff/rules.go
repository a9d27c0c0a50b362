package diff

import (
	"sort"
	"sync"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Severity ranks findings; the table and JSON list the most severe first.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

// Finding is a difference explained: a sentence naming the likely cause and the evidence.
type Finding struct {
	Severity Severity `json:"severity"`
	// Rule names the rule that produced it, e.g. "routes/no-default-route".
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Keys are the row keys ("section/key") the finding rests on.
	Keys []string `json:"keys"`
}

// Comparison is what a rule sees: the subjects' reports and the diffed rows.
type Comparison struct {
	// Subjects are display names, aligned with Reports and with every Row's Values.
	Subjects []string
	Reports  []*report.Report
	Rows     []Row
}

// Row is one keyed fact across subjects.
type Row struct {
	Section string   `json:"section"`
	Key     string   `json:"key"`
	Values  []string `json:"values"`
	Equal   bool     `json:"equal"`
	// Missing marks subjects whose report has no such fact (their value is shown as "-").
	Missing []bool `json:"-"`
}

// ID is the row's key across sections: "section/key".
func (r Row) ID() string { return r.Section + "/" + r.Key }

// Rule turns differences into findings. Rules must tolerate any number of subjects >= 2
// and sections that are absent from some reports.
type Rule func(c *Comparison) []Finding

var (
	rulesMu sync.RWMutex
	rules   = map[string]Rule{}
)

// RegisterRule adds a finding rule; probe plugins call it from init, next to their Register.
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
	rulesMu.RLock()
	defer rulesMu.RUnlock()
	names := make([]string, 0, len(rules))
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Rule, 0, len(names))
	for _, n := range names {
		out = append(out, rules[n])
	}
	return out
}
