package diagnosis

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// witnessed: a cause of a witness section (contract.Analysis.Witness: the kernel's drops)
// that rests on its own rows alone, no state fact of the place where the packets died,
// follows from another cause of the same subject that explains every symptom it explains:
// a pod's interface sending without ARP is why its node drops its packets as not its
// own. Of several such causes the one explaining most is the root.
func (d *Diagnosis) witnessed() {
	for g, fg := range d.fs {
		sec, _, _ := strings.Cut(fg.Rule, "/")
		if !d.as[sec].Witness || fg.Kind != contract.Cause || fg.dropped || fg.root >= 0 || !ownRowsOnly(fg.Keys, sec) {
			continue
		}
		syms := d.Graph.findingEdges(g, Explains, true)
		if len(syms) == 0 {
			continue
		}
		best, most := -1, 0
		for r, fr := range d.fs {
			rsec, _, _ := strings.Cut(fr.Rule, "/")
			if r == g || fr.Kind != contract.Cause || fr.dropped || fr.root >= 0 || fr.Subject != fg.Subject ||
				len(fr.Keys) == 0 || d.as[rsec].Witness {
				continue
			}
			if rx := d.Graph.findingEdges(r, Explains, true); len(rx) > most && subset(syms, rx) {
				best, most = r, len(rx)
			}
		}
		if best < 0 {
			continue
		}
		d.fs[g].root = best
		for _, s := range syms {
			d.Graph.edge(d.Graph.findingNode(best), d.Graph.findingNode(s), Explains)
		}
		d.Graph.removeEdges(g, Explains)
		d.fs[best].Severity = max(d.fs[best].Severity, d.fs[g].Severity)
	}
}

// ownRowsOnly tells whether every key is a row of section sec.
func ownRowsOnly(keys []string, sec string) bool {
	for _, k := range keys {
		if !strings.HasPrefix(k, sec+"/") {
			return false
		}
	}
	return len(keys) > 0
}
