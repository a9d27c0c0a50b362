package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// OddOneOutRule is the rule name of the majority findings, which lead the list.
const OddOneOutRule = "diff/odd-one-out"

func init() { RegisterRule(OddOneOutRule, OddOneOutFinder) }

// maxOddExamples bounds how many differing facts a finding names.
const maxOddExamples = 3

// OddOneOutFinder: with three or more subjects, a row where most subjects agree and a
// few do not points at those few. Each such subject gets one finding that counts the rows
// where it is in the minority and names the first of them.
func OddOneOutFinder(c *Comparison) []Finding {
	if len(c.Subjects) < 3 {
		return nil
	}
	type odd struct {
		keys     []string
		examples []string
	}
	per := make([]odd, len(c.Subjects))
	for _, row := range c.Rows {
		// Rows about reaching a particular peer exist only in the other subjects' reports.
		if row.Equal || row.Kind == probe.ShowOnly || strings.Contains(row.Key, "<peer") {
			continue
		}
		count := map[string]int{}
		for _, v := range row.Values {
			count[v]++ // a missing fact ("-") is a value too: one pod without a default route is odd
		}
		majority, best := "", 0
		for v, n := range count {
			if n > best || (n == best && v < majority) {
				majority, best = v, n
			}
		}
		if best*2 <= len(c.Subjects) { // no strict majority: nobody is odd
			continue
		}
		for i, v := range row.Values {
			if v == majority {
				continue
			}
			per[i].keys = append(per[i].keys, row.ID())
			if len(per[i].examples) < maxOddExamples {
				per[i].examples = append(per[i].examples, fmt.Sprintf("%s is %q where %d others have %q", row.ID(), v, best, majority))
			}
		}
	}
	var out []Finding
	for i, o := range per {
		if len(o.keys) == 0 {
			continue
		}
		more := ""
		if n := len(o.keys) - len(o.examples); n > 0 {
			more = fmt.Sprintf("; and %d more", n)
		}
		out = append(out, Finding{
			Severity: High,
			Rule:     OddOneOutRule,
			Message: fmt.Sprintf("odd one out: %s differs from the majority of the %d subjects in %d fact(s): %s%s",
				c.Subjects[i], len(c.Subjects), len(o.keys), strings.Join(o.examples, "; "), more),
			Keys: o.keys,
		})
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].Keys) > len(out[j].Keys) })
	return out
}
