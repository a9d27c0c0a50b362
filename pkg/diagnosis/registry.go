package diagnosis

import (
	"sort"
	"strings"
	"sync"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

var (
	analysesMu sync.RWMutex
	analyses   = map[string]contract.Analysis{}
)

// RegisterAnalysis adds a section's analysis; plugins declare theirs in section.Register.
func RegisterAnalysis(a contract.Analysis) {
	analysesMu.Lock()
	defer analysesMu.Unlock()
	if _, dup := analyses[a.Section]; dup {
		panic("diagnosis: analysis of " + a.Section + " registered twice")
	}
	analyses[a.Section] = a
}

// registeredAnalyses returns them sorted by section.
func registeredAnalyses() []contract.Analysis {
	analysesMu.RLock()
	defer analysesMu.RUnlock()
	out := make([]contract.Analysis, 0, len(analyses))
	for _, a := range analyses {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Section < out[j].Section })
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
