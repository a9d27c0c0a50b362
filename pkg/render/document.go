package render

import (
	"context"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// APIVersion names the shape of Document; it changes only when a consumer of the old
// shape would misread the new one. Adding fields does not change it.
const APIVersion = "netdiff/v1"

// Document is what -o json and -o yaml print.
type Document struct {
	APIVersion string    `json:"apiVersion"`
	Subjects   []string  `json:"subjects"`
	Differs    bool      `json:"differs"`
	Summary    Summary   `json:"summary"`
	Findings   []Finding `json:"findings"`
	Rows       []Row     `json:"rows"`
}

// Summary counts what was compared, whether or not the rows are listed.
type Summary struct {
	Rows      int `json:"rows"`
	Differing int `json:"differing"`
	Findings  int `json:"findings"`
}

// Finding is one explained difference (docs/findings.md): a cause, a symptom or context,
// linked to the findings it explains or is explained by.
type Finding struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`     // cause, symptom, context
	Severity string `json:"severity"` // critical, high, medium, low, info
	Subject  string `json:"subject,omitempty"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
	// Effect is the end of a cause's message: what it did to this run's probes.
	Effect string `json:"effect,omitempty"`
	// Detail is what a person may want after the headline (`-o wide` prints it too).
	Detail      string          `json:"detail,omitempty"`
	Keys        []string        `json:"keys"` // "section/key" of the rows it rests on
	Evidence    []diff.Evidence `json:"evidence,omitempty"`
	Explains    []string        `json:"explains,omitempty"`
	ExplainedBy []string        `json:"explainedBy,omitempty"`
	Checked     string          `json:"checked,omitempty"`
	// ConsequenceOf and Consequences link a cause that follows from another difference
	// to its root; Place is where on the path a cause lies (pod, node, beyond-node).
	ConsequenceOf string   `json:"consequenceOf,omitempty"`
	Consequences  []string `json:"consequences,omitempty"`
	Place         string   `json:"place,omitempty"`
}

// Row is one fact across subjects; Values and Missing are aligned with Subjects.
type Row struct {
	Section string   `json:"section"`
	Key     string   `json:"key"`
	Kind    string   `json:"kind"` // exact, counter, info
	Values  []string `json:"values"`
	Missing []bool   `json:"missing,omitempty"`
	Equal   bool     `json:"equal"`
}

// MaxMessageBytes caps a finding's message (and its checked note) in -o json and -o
// yaml; the cut is marked "…(N more bytes)". Row values are not cut: json is the record.
const MaxMessageBytes = 16 << 10

// NewDocument converts res; equal rows are kept only when all is set.
func NewDocument(res *diff.Result, all bool) Document {
	d, _ := newDocument(context.Background(), res, all)
	return d
}

// newDocument is NewDocument that returns ctx.Err() once ctx is done.
func newDocument(ctx context.Context, res *diff.Result, all bool) (Document, error) {
	d := Document{
		APIVersion: APIVersion,
		Subjects:   append([]string{}, res.Subjects...),
		Differs:    res.Differs(),
		Findings:   make([]Finding, 0, len(res.Findings)),
		Rows:       []Row{},
	}
	for _, f := range res.Findings {
		keys := append([]string{}, f.Keys...)
		d.Findings = append(d.Findings, Finding{ID: f.ID, Kind: string(f.Kind), Severity: f.Severity.String(), Subject: f.Subject,
			Rule: f.Rule, Message: Cap(f.Message, MaxMessageBytes), Effect: Cap(f.Effect, MaxMessageBytes), Detail: Cap(f.Detail, MaxMessageBytes), Keys: keys, Evidence: f.Evidence, Explains: f.Explains, ExplainedBy: f.ExplainedBy, Checked: Cap(f.Checked, MaxMessageBytes),
			ConsequenceOf: f.ConsequenceOf, Consequences: f.Consequences, Place: f.Place})
	}
	d.Summary.Rows, d.Summary.Findings = len(res.Rows), len(res.Findings)
	for n, r := range res.Rows {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Document{}, err
			}
		}
		if !r.Equal {
			d.Summary.Differing++
		}
		if r.Equal && !all {
			continue
		}
		row := Row{Section: r.Section, Key: r.Key, Kind: KindName(r.Kind), Values: r.Values, Equal: r.Equal}
		for i := range r.Values {
			if !r.Present(i) {
				row.Missing = make([]bool, len(r.Values))
				for j := range r.Values {
					row.Missing[j] = !r.Present(j)
				}
				break
			}
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// KindName is the lowercase name of a fact kind, as in JSON and -o wide.
func KindName(k probe.FactKind) string {
	switch k {
	case probe.Counter:
		return "counter"
	case probe.ShowOnly:
		return "info"
	}
	return "exact"
}
