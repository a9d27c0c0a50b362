package diagnosis

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/registry"
)

var analyses = registry.New[contract.Analysis]("analysis of section")

// RegisterAnalysis adds a section's analysis; plugins declare theirs in section.Register.
func RegisterAnalysis(a contract.Analysis) { analyses.Register(a.Section, a) }

// registeredAnalyses returns them sorted by section.
func registeredAnalyses() []contract.Analysis {
	all := analyses.Sorted()
	out := make([]contract.Analysis, 0, len(all))
	for _, e := range all {
		out = append(out, e.Value)
	}
	return out
}

// roleOf is the role of the section a rule belongs to (its name's first part); a
// section without an analysis holds state.
func roleOf(rule string, as map[string]contract.Analysis) contract.Role {
	sec, _, _ := strings.Cut(rule, "/")
	if a, ok := as[sec]; ok {
		return a.Role
	}
	return contract.State
}
