package diagnosis

import (
	"slices"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// restated folds a cause that explains no symptom into a cause of the same subject that
// rests on every row it rests on and explains some: the two are one fault, said twice (a
// node's blackhole route, named by the node side's own rule and by the kernel's drops it
// caused, whose cause names that route as the state of the place).
func (d *Diagnosis) restated() {
	for g, fg := range d.fs {
		if fg.Kind != contract.Cause || fg.dropped || fg.root >= 0 || len(fg.Keys) == 0 || len(d.Graph.findingEdges(g, Explains, true)) > 0 {
			continue
		}
		for r, fr := range d.fs {
			if r == g || fr.Kind != contract.Cause || fr.dropped || fr.root >= 0 || fr.Subject != fg.Subject ||
				len(d.Graph.findingEdges(r, Explains, true)) == 0 || !allIn(fg.Keys, fr.Keys) {
				continue
			}
			d.foldInto(g, r)
			break
		}
	}
}

func allIn(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
