package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "rules"

// MaxRules caps the list; a pod has a handful, a node with per-pod rules may have thousands.
const MaxRules = 1000

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Rules: map[string]contract.Rule{
			"only-in-some": OnlyInSome,
		},
		Analysis: &analysis,
	})
}

// Rule is the shared value type (events holds rules too).
type Rule = netstate.Rule

// routesSection is the routes section's name and the part of its schema (docs/sections/
// routes.md) that a rule's table is summarised from.
const routesSection = "routes"

type routesSchema struct {
	Routes    []netstate.Route         `json:"routes"`
	Counts    map[string]int           `json:"counts,omitempty"`
	Truncated bool                     `json:"truncated,omitempty"`
	Errors    map[string]*report.Error `json:"errors,omitempty"`
}

// Section is the JSON shape of sections.rules.
type Section struct {
	Rules     []Rule                   `json:"rules"`
	Total     int                      `json:"total"`
	Truncated bool                     `json:"truncated,omitempty"`
	Errors    map[string]*report.Error `json:"errors,omitempty"`
	// Interrupted: the kernel flagged a dump as inconsistent (rules changed while read).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Plugin collects the rules section.
type Plugin struct{}

// finish orders the rules as the kernel evaluates them and applies the cap.
func finish(s *Section) {
	sort.SliceStable(s.Rules, func(i, j int) bool {
		a, b := s.Rules[i], s.Rules[j]
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Priority < b.Priority
	})
	s.Total = len(s.Rules)
	if len(s.Rules) > MaxRules {
		s.Rules, s.Truncated = s.Rules[:MaxRules], true
	}
}

// Facts flattens the section: one fact per rule, keyed by family, priority and selector;
// a repeated key (two identical rules) gets "#2".
func Facts(s *Section) []probe.Fact {
	var out []probe.Fact
	seen := map[string]int{}
	for _, r := range s.Rules {
		k := r.Key()
		seen[k]++
		if n := seen[k]; n > 1 {
			k = fmt.Sprintf("%s #%d", k, n)
		}
		out = append(out, probe.Fact{Key: k, Value: r.Value(), Kind: probe.Exact})
	}
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: fmt.Sprintf("true (%d of %d shown)", len(s.Rules), s.Total), Kind: probe.Exact})
	}
	for _, f := range []string{"ipv4", "ipv6"} {
		if e := s.Errors[f]; e != nil {
			out = append(out, probe.Fact{Key: "error/" + f, Value: e.Name(), Kind: probe.Exact})
		}
	}
	return out
}

// OnlyInSome flags a rule that some subjects have and others lack, or that does
// something different in each. It works on the diffed rows, so rules naming a subject's
// own address (normalised to <self>) line up. Where a rule sends traffic to a table, the
// finding says what that table holds in the subject, because a table with only an
// unreachable default turns matching connects into EHOSTUNREACH.
func OnlyInSome(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, row := range c.Rows {
		if row.Section != Name || row.Equal || row.Key == "truncated" || strings.HasPrefix(row.Key, "error/") {
			continue
		}
		family, rest, _ := strings.Cut(row.Key, "/")
		var has, lacks, whom []string
		sev := contract.Medium
		unmarked := 0
		for i, v := range row.Values {
			if i >= len(c.Subjects) || !hasSection(c, i) {
				continue
			}
			if !row.Present(i) {
				lacks = append(lacks, c.Subjects[i])
				continue
			}
			// As `ip rule` prints it: "150: from all ipproto tcp dport 9090 lookup 150".
			desc := fmt.Sprintf("%s has `%s %s`", c.Subjects[i], strings.Replace(rest, " ", ": ", 1), v)
			if family == "ipv6" {
				desc = fmt.Sprintf("%s has the IPv6 rule `%s %s`", c.Subjects[i], strings.Replace(rest, " ", ": ", 1), v)
			}
			action, _, _ := strings.Cut(v, " ")
			switch action {
			case "unreachable", "prohibit", "blackhole":
				sev = contract.High
			case "lookup":
				table, _, _ := strings.Cut(strings.TrimPrefix(v, "lookup "), " ")
				if held, reject := tableContents(c.Reports[i], family, table); held != "" {
					desc += ", table " + table + " holding `" + held + "`"
					if reject {
						sev = contract.High
					}
				}
			}
			if w := uidWords(c, i, rest); w != "" {
				whom = append(whom, c.Subjects[i]+": "+w)
			}
			if w := markWords(c, i, rest); w != "" {
				whom = append(whom, c.Subjects[i]+": "+w)
				unmarked++
			}
			has = append(has, desc)
		}
		if len(has) == 0 {
			continue
		}
		if unmarked == len(has) {
			// No packet of a plain connect here carries the mark it selects: a note.
			sev = contract.Info
		}
		msg := strings.Join(has, "; ")
		if len(lacks) > 0 {
			msg = fmt.Sprintf("%s (%s %s no such rule)", msg, strings.Join(lacks, ", "), contract.Plural(len(lacks), "has", "have"))
		}
		out = append(out, contract.Finding{Severity: sev, Message: msg, Detail: strings.Join(whom, "; "), Keys: []string{row.ID()}})
	}
	return out
}

// connectSection is the connect section's name, and connectSchema the part of its schema
// (docs/sections/connect.md) that says as whom the app runs.
const connectSection = "connect"

type connectSchema struct {
	AsApp *struct {
		Identity *struct {
			UID int `json:"uid"`
		} `json:"identity"`
	} `json:"asApp"`
}

// appUID is the uid of subject i's app (the target process), as its probes as the app read it.
func appUID(c *contract.Comparison, i int) (int, bool) {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return 0, false
	}
	var s connectSchema
	if ok, err := c.Reports[i].Section(connectSection, &s); !ok || err != nil || s.AsApp == nil || s.AsApp.Identity == nil {
		return 0, false
	}
	return s.AsApp.Identity.UID, true
}

// uidWords says whom a rule with a uidrange selects in subject i: the app's uid, root's,
// both or neither, so a rule that moves only the app's traffic is named as such.
func uidWords(c *contract.Comparison, i int, rest string) string {
	f := strings.Fields(rest)
	var rng string
	for k := 1; k+1 < len(f); k++ {
		if f[k] == "uidrange" {
			rng = f[k+1]
		}
	}
	if rng == "" {
		return ""
	}
	uid, ok := appUID(c, i)
	if !ok {
		return ""
	}
	app, root := inRange(rng, uid), inRange(rng, 0)
	switch {
	case uid == 0 && app:
		return fmt.Sprintf("uidrange %s holds the app's uid 0, which is root's", rng)
	case app && !root:
		return fmt.Sprintf("uidrange %s selects the app's uid %d and not root's: the app's connects take this rule, the prober's as root do not", rng, uid)
	case app && root:
		return fmt.Sprintf("uidrange %s selects both the app's uid %d and root's", rng, uid)
	case root:
		return fmt.Sprintf("uidrange %s selects root's connects, not the app's uid %d", rng, uid)
	}
	return fmt.Sprintf("uidrange %s selects neither the app's uid %d nor root", rng, uid)
}

// markWords says, for a rule that selects on a firewall mark (not inverted), that the
// probes of subject i carry no mark: a plain connect's packets are marked only by its
// socket's SO_MARK or a netfilter rule that sets one, and none of subject i's does.
func markWords(c *contract.Comparison, i int, rest string) string {
	f := strings.Fields(rest)
	for k := 1; k+1 < len(f); k++ {
		if f[k] == "not" {
			return ""
		}
		if f[k] == "fwmark" {
			if marksSet(c, i) || markHolds(f[k+1], 0) {
				return ""
			}
			return fmt.Sprintf("fwmark %s selects only marked packets; no netfilter rule read here sets a mark and the probes set no SO_MARK, so no probe takes this rule", f[k+1])
		}
	}
	return ""
}

// hasSection: a subject without a rules section lacks no rule, it was not asked.
func hasSection(c *contract.Comparison, i int) bool {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return false
	}
	raw, ok := c.Reports[i].Sections[Name]
	return ok && len(raw) > 0 && string(raw) != "null"
}

// tableContents summarises a routing table from the same report's routes section, and
// whether it can only reject (no unicast route at all, or only reject-type defaults).
func tableContents(rep *report.Report, family, table string) (string, bool) {
	var s routesSchema
	if ok, err := rep.Section(routesSection, &s); !ok || err != nil {
		return "", false
	}
	var parts []string
	unicast := 0
	for _, r := range s.Routes {
		if r.Family != family || r.Table != table {
			continue
		}
		if r.Type == "unicast" {
			unicast++
		}
		if len(parts) < 3 {
			parts = append(parts, strings.TrimSpace(r.Type+" "+r.Dst))
		}
	}
	if len(parts) == 0 {
		if s.Truncated {
			return "", false // the table may be among the routes the cap left out
		}
		return "no routes", true
	}
	return strings.Join(parts, ", "), unicast == 0
}

var _ probe.Collector = (*Plugin)(nil)
