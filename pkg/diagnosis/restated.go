package diagnosis

import (
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// restated folds a cause that explains no symptom into a cause of the same subject that
// rests on every row it rests on and explains some: the two are one fault, said twice (a
// node's blackhole route, named by the node side's own rule and by the kernel's drops it
// caused, whose cause names that route as the state of the place).
//
// Where the cause that explains is the kernel's word (a witness: where packets died) and
// the folded one names the state of that place, the state's own words become the
// headline (the rule or route in the syntax that made it, by the plugin that read it) and
// the kernel's words its detail: a person acts on the rule, the drop is how we know.
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
			speaks := d.speaksFor(g, r)
			d.foldInto(g, r)
			if speaks {
				if d.fs[r].Detail == "" {
					d.fs[r].Detail = d.fs[r].Message
				}
				d.fs[r].Message = fg.Message
				d.fs[r].also = slices.DeleteFunc(d.fs[r].also, func(a string) bool { return a == fg.Message })
			}
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

// speaksFor: g names the state of the place where witness r saw packets die: r's first
// row outside its own section (its "state there") is one of g's.
func (d *Diagnosis) speaksFor(g, r int) bool {
	rsec, _, _ := strings.Cut(d.fs[r].Rule, "/")
	gsec, _, _ := strings.Cut(d.fs[g].Rule, "/")
	if !d.as[rsec].Witness || d.as[gsec].Witness || d.fs[r].spoken {
		return false
	}
	for _, k := range d.fs[r].Keys {
		if !strings.HasPrefix(k, rsec+"/") {
			if slices.Contains(d.fs[g].Keys, k) {
				d.fs[r].spoken = true
				return true
			}
			return false
		}
	}
	return false
}
