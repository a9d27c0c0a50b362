package contract

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Absent is how a value absent from one subject's report is shown.
const Absent = "-"

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
// The diagnosis (diagnose.go) sorts findings into causes, the symptoms they explain, and
// context, and links them both ways by ID (docs/findings.md).
type Finding struct {
	// ID names the finding within one result ("f1", "f2", … in output order).
	ID       string   `json:"id"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// Subject is the subject the finding is about, where it is about one.
	Subject string `json:"subject,omitempty"`
	// Rule names the rule that produced it, e.g. "routes/no-default-route".
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Effect is what the cause did to this run's probes, computed by the diagnosis from
	// the probes it explains; the message ends in it (": " Effect).
	Effect string `json:"effect,omitempty"`
	// Detail is what a person may want after the headline: why such a fact matters in
	// general, counts, hints (-o wide, JSON). The headline carries none of it.
	Detail string `json:"detail,omitempty"`
	// Keys are the row keys ("section/key") the finding rests on.
	Keys []string `json:"keys"`
	// Evidence is each key's value in every subject.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Explains (a cause) and ExplainedBy (a symptom) hold finding IDs.
	Explains    []string `json:"explains,omitempty"`
	ExplainedBy []string `json:"explainedBy,omitempty"`
	// Checked says, for a symptom nothing explains, what was looked at and what would settle it.
	Checked string `json:"checked,omitempty"`
	// ConsequenceOf (a cause that follows from another difference) holds the ID of its
	// root cause; the root lists it in Consequences. A consequence is never top-level.
	ConsequenceOf string   `json:"consequenceOf,omitempty"`
	Consequences  []string `json:"consequences,omitempty"`
	// Place is where on the path a cause lies: "pod", "node", or "beyond-node" (the
	// packets left the pod and nothing read on the path differs).
	Place string `json:"place,omitempty"`
}

// Evidence is one row a finding rests on, with its value in each subject ("-" where absent).
type Evidence struct {
	Row    string            `json:"row"`
	Values map[string]string `json:"values"`
}

// Kind sorts findings: a cause is a difference in state that changes what the kernel or
// a library does; a symptom is a difference in outcome; context is true and worth
// knowing but neither.
type Kind string

const (
	Cause   Kind = "cause"
	Symptom Kind = "symptom"
	Context Kind = "context"
)

// Comparison is what a rule sees: the subjects' reports and the diffed rows.
type Comparison struct {
	// Subjects are display names, aligned with Reports and with every Row's Values.
	Subjects []string
	Reports  []*report.Report
	Rows     []Row
	// Identities are what the diff normalised away, aligned with Subjects.
	Identities []Identity
	// Normalise rewrites a string as subject i's facts were rewritten; the diff engine
	// sets it (see NormaliseFor).
	Normalise func(i int, s string) string
}

// NormaliseFor normalises s as subject i's facts were: its own addresses and names become
// <self>, the others' <peer>. A rule that builds a row key from a section it decoded
// itself names the row with it.
func (c *Comparison) NormaliseFor(i int, s string) string {
	if c.Normalise == nil || i < 0 || i >= len(c.Subjects) {
		return s
	}
	return c.Normalise(i, s)
}

// Row is one keyed fact across subjects.
type Row struct {
	Section string   `json:"section"`
	Key     string   `json:"key"`
	Values  []string `json:"values"`
	Equal   bool     `json:"equal"`
	// Missing marks subjects whose report has no such fact (their value is shown as "-").
	Missing []bool `json:"-"`
	// Kind is how the row was compared (from the first subject that has the fact).
	Kind probe.FactKind `json:"-"`
}

// ID is the row's key across sections: "section/key".
func (r Row) ID() string { return r.Section + "/" + r.Key }

// Rule turns differences into findings. Rules must tolerate any number of subjects >= 2
// and sections that are absent from some reports.
type Rule func(c *Comparison) []Finding

// String is the lowercase name used in JSON and tables: "critical" … "info".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity reads the lowercase names String returns.
func ParseSeverity(s string) (Severity, error) {
	for v := Info; v <= Critical; v++ {
		if strings.EqualFold(s, v.String()) {
			return v, nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q: use critical, high, medium, low or info", s)
}

// MarshalText makes severities lowercase strings in JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Row finds the row of section and key; Rows are sorted, so this is a binary search.
func (c *Comparison) Row(section, key string) (Row, bool) {
	i := sort.Search(len(c.Rows), func(i int) bool {
		r := c.Rows[i]
		return r.Section > section || r.Section == section && r.Key >= key
	})
	if i < len(c.Rows) && c.Rows[i].Section == section && c.Rows[i].Key == key {
		return c.Rows[i], true
	}
	return Row{}, false
}

// Section returns the rows of one section, in key order.
func (c *Comparison) Section(section string) []Row {
	lo := sort.Search(len(c.Rows), func(i int) bool { return c.Rows[i].Section >= section })
	hi := sort.Search(len(c.Rows), func(i int) bool { return c.Rows[i].Section > section })
	return c.Rows[lo:hi]
}

// AnyMissing reports whether some subject lacks the fact.
func (r Row) AnyMissing() bool {
	for _, m := range r.Missing {
		if m {
			return true
		}
	}
	return false
}

// Present tells whether subject i has the row's fact.
func (r Row) Present(i int) bool {
	return i < len(r.Values) && (i >= len(r.Missing) || !r.Missing[i])
}
