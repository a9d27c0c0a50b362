package diagnosis

import (
	"fmt"
	"slices"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// NodeKind is what a node of the diagnosis graph stands for.
type NodeKind int

const (
	// FindingNode is a finding: a cause, a symptom or context.
	FindingNode NodeKind = iota
	// FactNode is a differing row as one subject holds it.
	FactNode
	// ProbeNode is a probe's outcome in one subject.
	ProbeNode
)

// EdgeKind is how two nodes are related.
type EdgeKind int

const (
	// OnPath: a fact (To) lies on a probe's (From) path in the probe's subject.
	OnPath EdgeKind = iota
	// DependsOn: a fact (From) follows from another difference (To).
	DependsOn
	// Explains: a cause (From) explains a symptom (To).
	Explains
	// RestsOn: a finding (From) rests on a fact or probe (To).
	RestsOn
	// FoldedInto: a cause (From) is the same fault as another cause (To) and is shown
	// as part of it.
	FoldedInto
)

// NodeID names a node within one graph; IDs are indexes into Graph.Nodes.
type NodeID int

// Node is one node of the graph.
type Node struct {
	Kind NodeKind
	// Row and Subject name a fact's or a probe's row and the subject holding it.
	Row     string
	Subject int
	// Finding is a finding node's index into the graph's findings.
	Finding int
}

// Edge is one typed edge.
type Edge struct {
	From, To NodeID
	Kind     EdgeKind
}

// Graph is the diagnosis as a graph: findings, the facts and probe outcomes they rest
// on, and how they are related. Findings are numbered by index until the output gives
// them their "f1", "f2" IDs.
type Graph struct {
	Nodes []Node
	Edges []Edge
	byKey map[nodeKey]NodeID
	edges map[Edge]bool
}

type nodeKey struct {
	kind    NodeKind
	row     string
	subject int
	finding int
}

func (g *Graph) node(n Node) NodeID {
	k := nodeKey{n.Kind, n.Row, n.Subject, n.Finding}
	if id, ok := g.byKey[k]; ok {
		return id
	}
	if g.byKey == nil {
		g.byKey = map[nodeKey]NodeID{}
	}
	g.Nodes = append(g.Nodes, n)
	id := NodeID(len(g.Nodes) - 1)
	g.byKey[k] = id
	return id
}

func (g *Graph) findingNode(f int) NodeID {
	return g.node(Node{Kind: FindingNode, Finding: f, Subject: -1})
}
func (g *Graph) factNode(row string, subject int) NodeID {
	return g.node(Node{Kind: FactNode, Row: row, Subject: subject, Finding: -1})
}
func (g *Graph) probeNode(row string, subject int) NodeID {
	return g.node(Node{Kind: ProbeNode, Row: row, Subject: subject, Finding: -1})
}

func (g *Graph) edge(from, to NodeID, kind EdgeKind) {
	e := Edge{from, to, kind}
	if g.edges == nil {
		g.edges = map[Edge]bool{}
	}
	if g.edges[e] {
		return
	}
	g.edges[e] = true
	g.Edges = append(g.Edges, e)
}

// findingEdges returns the findings at the far end of a finding's edges of a kind.
func (g *Graph) findingEdges(f int, kind EdgeKind, outgoing bool) []int {
	id := g.findingNode(f)
	var out []int
	for _, e := range g.Edges {
		if e.Kind != kind {
			continue
		}
		var other NodeID
		switch {
		case outgoing && e.From == id:
			other = e.To
		case !outgoing && e.To == id:
			other = e.From
		default:
			continue
		}
		if n := g.Nodes[other]; n.Kind == FindingNode {
			out = append(out, n.Finding)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// removeEdges drops every edge of a kind that touches finding f.
func (g *Graph) removeEdges(f int, kind EdgeKind) {
	id := g.findingNode(f)
	g.Edges = slices.DeleteFunc(g.Edges, func(e Edge) bool {
		if e.Kind == kind && (e.From == id || e.To == id) {
			delete(g.edges, e)
			return true
		}
		return false
	})
}

// String names a node for tests and debugging.
func (g *Graph) String(id NodeID) string {
	n := g.Nodes[id]
	switch n.Kind {
	case FactNode:
		return fmt.Sprintf("fact %s in %d", n.Row, n.Subject)
	case ProbeNode:
		return fmt.Sprintf("probe %s in %d", n.Row, n.Subject)
	}
	return fmt.Sprintf("finding %d", n.Finding)
}

// finding is a finding node's payload while the diagnosis is built: the finding itself
// and what was merged into it, kept apart until the output words it.
type finding struct {
	contract.Finding
	// parts are further outcomes of the same target merged into a made symptom.
	parts []string
	// also are the messages of causes folded into this one.
	also []string
	// causeIn names the peer whose cause explains this symptom (a probe of that peer).
	causeIn string
	// made marks findings the diagnosis made itself (no rule named the row).
	made bool
	// dropped marks findings folded into another.
	dropped bool
	// spoken marks a witness whose headline is now the words of the state it saw.
	spoken bool
	// root is the cause this one follows from (-1: none).
	root int
	// effect is what the cause did to this run's probes, computed from the symptoms it
	// explains (effect.go).
	effect string
}

func (f *finding) message() string {
	m := f.Message
	if f.effect != "" {
		m += ": " + f.effect
	}
	for _, p := range f.parts {
		m += "; " + p
	}
	// What was folded into a cause is its evidence (its rows are the cause's keys), not
	// words of its headline: one sentence, one fault.
	if f.Kind != contract.Cause || f.effect == "" {
		for _, a := range f.also {
			m += "; also, " + a
		}
	}
	if f.causeIn != "" {
		m += "; the cause is in " + f.causeIn
	}
	return m
}
