package diagnosis

import (
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// Read-only views of a built diagnosis for the renderers that draw a probe's path (the
// path picture of -o html): which rows lie on it in each subject, where they live, which
// of them deviate and which the diagnosis blamed. They walk the same paths the diagnosis
// walked; nothing here changes a finding.

// Step is one row on a probe's path as one subject holds it.
type Step struct {
	Row contract.Row
	// Place is where the row's section lives: the pod or its node.
	Place contract.Place
	// Hop is where the row is drawn (contract.Analysis.Hop): never HopByPlace.
	Hop contract.Hop
	// Read: the subject's report holds the row's section.
	Read bool
	// Deviates: the subject's value differs from that of every subject compared against.
	Deviates bool
	// Blamed: the graph holds an OnPath edge from the probe to this fact in the subject
	// (the diagnosis found it deviating where the probe fails).
	Blamed bool
}

// Comparison is the comparison the diagnosis was built on.
func (d *Diagnosis) Comparison() *contract.Comparison { return d.c }

// Probes are the probes whose outcome differs between the subjects, annotated (each
// subject's route answer, its destination address), in the order the diagnosis read them.
func (d *Diagnosis) Probes() []*contract.Probe { return d.all }

// Path lists the rows on p's path in subject i, pod before node, each compared with the
// subjects in against.
func (d *Diagnosis) Path(p *contract.Probe, i int, against []int) []Step {
	var out []Step
	for _, r := range d.pathRows(p, i) {
		s := Step{Row: r, Place: d.as[r.Section].Place, Hop: d.hopOf(r), Read: d.sectionIn(i, r.Section)}
		s.Deviates = !r.Equal && len(against) > 0 && d.deviates(r, i, against)
		if p.Row != "" {
			s.Blamed = d.Graph.has(Edge{From: d.Graph.lookup(nodeKey{ProbeNode, p.Row, i, -1}),
				To: d.Graph.lookup(nodeKey{FactNode, r.ID(), i, -1}), Kind: OnPath})
		}
		out = append(out, s)
	}
	return out
}

// Return is p as the peer it probes sends its replies back to subject i, with the
// peer's index, and whether the diagnosis followed that way back (it does where the peer
// does worse than another subject somewhere: a healthy peer is never blamed). j is -1
// when p's target is no subject.
func (d *Diagnosis) Return(p *contract.Probe, i int) (back *contract.Probe, j int, followed bool) {
	j = p.Peer(d.c, i)
	if j < 0 {
		return nil, -1, false
	}
	return d.reverse(p, i, j), j, d.worse[j]
}

// NodeRead tells whether the node's half of subject i's path was read.
func (d *Diagnosis) NodeRead(i int) bool { return d.nodeRead(i) }

// Unread says what of subject i's path at place could not be read, and what would read it.
func (d *Diagnosis) Unread(i int, place contract.Place) []string { return d.unread(i, place) }

// hopOf is where row r is drawn: its section's Hop, else its Place's hop.
func (d *Diagnosis) hopOf(r contract.Row) contract.Hop {
	a := d.as[r.Section]
	if a.Hop != nil {
		if h := a.Hop(r); h != contract.HopByPlace {
			return h
		}
	}
	if a.Place == contract.OnNode {
		return contract.HopNode
	}
	return contract.HopPodKernel
}

// HopOfFact is where the fact "section/key" is drawn.
func (d *Diagnosis) HopOfFact(id string) contract.Hop {
	sec, key, _ := strings.Cut(id, "/")
	return d.hopOf(contract.Row{Section: sec, Key: key})
}

// PlaceOf is where a section's facts live on the path.
func (d *Diagnosis) PlaceOf(section string) contract.Place { return d.as[section].Place }

// lookup returns a node's ID without adding it (-1: no such node).
func (g *Graph) lookup(k nodeKey) NodeID {
	if id, ok := g.byKey[k]; ok {
		return id
	}
	return -1
}

// has tells whether the graph holds edge e.
func (g *Graph) has(e Edge) bool {
	if e.From < 0 || e.To < 0 {
		return false
	}
	return g.edges[e] || slices.Contains(g.Edges, e)
}
