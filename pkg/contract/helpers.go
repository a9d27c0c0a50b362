package contract

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Sections decodes one section from every report of a comparison, aligned with its
// reports: nil where a report is missing, has no such section, or the section does not
// decode (rules must tolerate all three).
func Sections[T any](c *Comparison, name string) []*T {
	out := make([]*T, len(c.Reports))
	for i, r := range c.Reports {
		if r == nil {
			continue
		}
		var s T
		if ok, err := r.Section(name, &s); ok && err == nil {
			out[i] = &s
		}
	}
	return out
}

// DecodeSections decodes one section from every subject's report with the plugin's own
// decoder, aligned with c.Subjects: nil where a report is missing, has no such section,
// or the section does not decode.
func DecodeSections[T any](c *Comparison, name string, decode func(json.RawMessage) (*T, error)) []*T {
	out := make([]*T, len(c.Subjects))
	for i := range c.Subjects {
		if i >= len(c.Reports) || c.Reports[i] == nil {
			continue
		}
		raw, ok := c.Reports[i].Sections[name]
		if !ok {
			continue
		}
		if s, err := decode(raw); err == nil {
			out[i] = s
		}
	}
	return out
}

// Grouped says which subjects saw which value: "ETIMEDOUT in A; ECONNREFUSED in B, C".
// The parts are sorted so that a message never depends on map order.
func Grouped(subjectsByValue map[string][]string) string {
	var parts []string
	for v, names := range subjectsByValue {
		parts = append(parts, fmt.Sprintf("%s in %s", v, strings.Join(names, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// DecodeJSON is the decode function of DecodeSections for a section that needs nothing
// but decoding, e.g. the part of another section's schema a rule reads. Keys are
// matched exactly (report.UnmarshalExact), as the section's own plugin matches them.
func DecodeJSON[T any](raw json.RawMessage) (*T, error) {
	var v T
	if err := report.UnmarshalExact(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Values lists a row's value in each subject, "a: v, b: -" (Absent where a subject lacks
// it): the one way findings quote a row's values.
func Values(c *Comparison, r Row) string {
	parts := make([]string, len(c.Subjects))
	for i, s := range c.Subjects {
		v := Absent
		if r.Present(i) {
			v = r.Values[i]
		}
		parts[i] = s + ": " + v
	}
	return strings.Join(parts, ", ")
}

// OrNone is s, or "(none)" for an empty value in a message.
func OrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// DescribeRow is the generic wording of a differing row as a cause in subject i:
// "web-b has no routes ipv4/main/unicast/default (web-a: via 10.0.0.1 dev eth0)".
func DescribeRow(c *Comparison, r Row, i, j int) string {
	what := r.Section + " " + r.Key
	switch {
	case !r.Present(i):
		return fmt.Sprintf("%s has no %s (%s: %s)", c.Subjects[i], what, c.Subjects[j], r.Values[j])
	case !r.Present(j):
		return fmt.Sprintf("only %s has %s: %s", c.Subjects[i], what, r.Values[i])
	}
	return fmt.Sprintf("%s has %s %s (%s: %s)", c.Subjects[i], what, r.Values[i], c.Subjects[j], r.Values[j])
}
