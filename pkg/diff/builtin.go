package diff

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// The engine's own rules read the report section, so they work for every plugin.
func init() {
	RegisterRule("report/section-failed", SectionFailedRule)
	RegisterRule("report/section-absent", SectionAbsentRule)
	RegisterRule("report/prober-version", ProberVersionRule)
	RegisterRule("report/unknown-section", UnknownSectionRule)
	// The engine's own sections are context: true, but neither causes nor symptoms.
	diagnosis.RegisterAnalysis(contract.Analysis{Section: ReportSection, Role: contract.Background})
	diagnosis.RegisterAnalysis(contract.Analysis{Section: "diff", Role: contract.Background})
}

const sectionKeyPrefix = "section/"

// SectionFailedRule explains a section some subject could not collect: its facts are
// missing from the comparison, so every row of that section differs for a dull reason.
func SectionFailedRule(c *Comparison) []Finding {
	var out []Finding
	for _, row := range c.Section(ReportSection) {
		name, ok := strings.CutPrefix(row.Key, sectionKeyPrefix)
		if !ok {
			continue
		}
		var failed []int
		for i, v := range row.Values {
			if row.Present(i) && strings.HasPrefix(v, SectionFailed) {
				failed = append(failed, i)
			}
		}
		if len(failed) == 0 {
			continue
		}
		if len(failed) == len(row.Values) && row.Equal {
			out = append(out, Finding{Severity: Info, Keys: []string{row.ID()},
				Message: fmt.Sprintf("no subject could collect section %s (%s): it is not compared",
					name, strings.TrimPrefix(row.Values[0], SectionFailed))})
			continue
		}
		for _, i := range failed {
			out = append(out, Finding{Severity: Medium, Keys: []string{row.ID()},
				Message: fmt.Sprintf("%s could not collect section %s: %s; its %s rows show %q and are not evidence of a network difference",
					c.Subjects[i], name, strings.TrimPrefix(row.Values[i], SectionFailed), name, contract.Absent)})
		}
	}
	return out
}

// SectionAbsentRule notes a section one report lacks without a recorded failure, which
// happens when the probers differ in version or plugin set.
func SectionAbsentRule(c *Comparison) []Finding {
	var out []Finding
	for _, row := range c.Section(ReportSection) {
		name, ok := strings.CutPrefix(row.Key, sectionKeyPrefix)
		if !ok || row.Equal {
			continue
		}
		var who []string
		for i, v := range row.Values {
			if v == SectionAbsent {
				who = append(who, c.Subjects[i])
			}
		}
		if len(who) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Low, Keys: []string{row.ID()},
			Message: fmt.Sprintf("the report of %s has no section %s (a prober without that plugin?): its %s rows show %q",
				strings.Join(who, ", "), name, name, contract.Absent)})
	}
	return out
}

// ProberVersionRule warns when subjects were probed by different prober versions, which
// explains facts that appear, vanish or change format between them.
func ProberVersionRule(c *Comparison) []Finding {
	row, ok := c.Row(ReportSection, "proberVersion")
	if !ok {
		return nil
	}
	var parts []string
	same := true
	for i, v := range row.Values {
		parts = append(parts, c.Subjects[i]+": "+v)
		if v != row.Values[0] {
			same = false
		}
	}
	if same {
		return nil
	}
	return []Finding{{Severity: Info, Keys: []string{row.ID()},
		Message: "different prober versions (" + strings.Join(parts, ", ") + "): facts added or reformatted between versions show up as differences"}}
}

// UnknownSectionRule says which sections this build compared as plain JSON because it
// has no plugin for them (a report from a newer prober).
func UnknownSectionRule(c *Comparison) []Finding {
	var out []Finding
	for _, row := range c.Section(ReportSection) {
		name, ok := strings.CutPrefix(row.Key, sectionKeyPrefix)
		if !ok {
			continue
		}
		if _, known := probe.Lookup(name); known {
			continue
		}
		out = append(out, Finding{Severity: Info, Keys: []string{row.ID()},
			Message: fmt.Sprintf("section %s has no plugin in this build: it is compared field by field (placeholders still apply) without its plugin's keys and rules; use a kubectl-netdiff as new as the prober", name)})
	}
	return out
}
