package diff

import (
	"fmt"
	"sort"
	"strings"
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
