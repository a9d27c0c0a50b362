package diagnosis

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// chain folds every cause that only follows from another difference under its root: a
// differing row whose section says it depends on rows, or on the path to an address,
// where another row differs in the same subject, is a consequence of that row's cause.
// Chains are followed to their end; one planted fault is one top-level cause.
func (d *Diagnosis) chain() {
	// A root found here may be a cause made here (a row on the path to a gateway, not on
	// any probe's own path): it is visited in turn, so chains are followed to their end.
	for f := 0; f < len(d.fs); f++ {
		if d.fs[f].Kind != contract.Cause || d.fs[f].dropped || d.fs[f].Rule == RuleOutsidePod {
			continue
		}
		s := d.blamed(f)
		if s < 0 {
			continue
		}
		if root := d.rootOf(f, s); root >= 0 {
			d.fs[f].root = root
		}
	}
	// Follow each chain to its end; a cycle (two facts that each follow from the other)
	// keeps its first member as the root.
	for f := range d.fs {
		if d.fs[f].root < 0 {
			continue
		}
		seen := map[int]bool{f: true}
		r := d.fs[f].root
		for d.fs[r].root >= 0 && !seen[d.fs[r].root] {
			seen[r] = true
			r = d.fs[r].root
		}
		if d.fs[r].root >= 0 { // a cycle: r's root leads back
			d.fs[r].root = -1
		}
		if r == f {
			d.fs[f].root = -1
			continue
		}
		d.fs[f].root = r
	}
	for f := range d.fs {
		r := d.fs[f].root
		if r < 0 {
			continue
		}
		for _, s := range d.Graph.findingEdges(f, Explains, true) {
			d.Graph.edge(d.Graph.findingNode(r), d.Graph.findingNode(s), Explains)
			if d.fs[s].causeIn == d.fs[f].Subject && d.fs[r].Subject != d.fs[f].Subject {
				d.fs[s].causeIn = d.fs[r].Subject
			}
		}
		d.Graph.removeEdges(f, Explains)
		if d.fs[f].Severity > d.fs[r].Severity {
			d.fs[r].Severity = d.fs[f].Severity
		}
	}
}

// blamed is the subject a cause is about: its own, or, for a rule's finding that names
// no subject, the one subject that does worse than another.
func (d *Diagnosis) blamed(f int) int {
	if s := d.subjectIndex(d.fs[f].Subject); s >= 0 {
		return s
	}
	s := -1
	for i, w := range d.worse {
		if w {
			if s >= 0 {
				return -1
			}
			s = i
		}
	}
	return s
}

// rootOf returns the cause that finding f (about subject s) follows from, or -1.
func (d *Diagnosis) rootOf(f, s int) int {
	others := make([]int, 0, len(d.c.Subjects)-1)
	for j := range d.c.Subjects {
		if j != s {
			others = append(others, j)
		}
	}
	if len(others) == 0 {
		return -1
	}
	own := map[string]bool{}
	for _, k := range d.fs[f].Keys {
		own[k] = true
	}
	for _, k := range d.fs[f].Keys {
		sec, key, ok := strings.Cut(k, "/")
		if !ok {
			continue
		}
		a, ok := d.as[sec]
		if !ok || a.DependsOn == nil {
			continue
		}
		r, ok := d.c.Row(sec, key)
		if !ok || r.Equal {
			continue
		}
		dep := a.DependsOn(d.c, r, s)
		var roots []contract.Row
		for _, id := range dep.Rows {
			rsec, rkey, _ := strings.Cut(id, "/")
			if rr, ok := d.c.Row(rsec, rkey); ok {
				roots = append(roots, rr)
			}
		}
		for _, q := range dep.Paths {
			q.Row = ""
			if q.Status == nil {
				q.Status = make([]contract.Status, len(d.c.Subjects))
			}
			d.annotate(&q)
			roots = append(roots, d.pathRows(&q, s)...)
		}
		if dep.Gateway.IsValid() {
			gw := dep.Gateway.String()
			for _, p := range d.all {
				for _, ra := range p.Route {
					if ra.Via == gw {
						roots = append(roots, d.pathRows(p, s)...)
						break
					}
				}
			}
		}
		for _, rr := range roots {
			if rr.Equal || own[rr.ID()] || !d.deviates(rr, s, others) {
				continue
			}
			root := d.causeFor(rr, s, others[0])
			if root == f || d.fs[root].dropped {
				continue
			}
			d.Graph.edge(d.Graph.factNode(k, s), d.Graph.factNode(rr.ID(), s), DependsOn)
			return root
		}
	}
	return -1
}

// cover folds the causes of the sections another section covers into that section's
// cause of the same subject, where they explain nothing it does not: a route seen
// deleted and re-added many times during the window is one cause, the flap, and the
// snapshot that caught the route absent is part of it.
func (d *Diagnosis) cover() {
	for c, fc := range d.fs {
		sec, _, _ := strings.Cut(fc.Rule, "/")
		a := d.as[sec]
		if len(a.Covers) == 0 || fc.Kind != contract.Cause || fc.dropped || fc.root >= 0 {
			continue
		}
		explains := d.Graph.findingEdges(c, Explains, true)
		if len(explains) == 0 {
			continue
		}
		for s, fs := range d.fs {
			ssec, _, _ := strings.Cut(fs.Rule, "/")
			if s == c || fs.Kind != contract.Cause || fs.dropped || fs.root >= 0 || fs.Subject != fc.Subject ||
				!slices.Contains(a.Covers, ssec) {
				continue
			}
			sx := d.Graph.findingEdges(s, Explains, true)
			if len(sx) == 0 || !subset(sx, explains) {
				continue
			}
			d.fs[c].Keys = append(d.fs[c].Keys, fs.Keys...)
			d.fs[c].also = append(d.fs[c].also, fs.message())
			d.fs[s].dropped = true
			d.Graph.removeEdges(s, Explains)
			d.Graph.edge(d.Graph.findingNode(s), d.Graph.findingNode(c), FoldedInto)
		}
	}
}

func subset(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// attribute: a subject that does worse than no other on any probe is never blamed for
// a difference that explains nothing: when another subject does worse, such a cause in
// it (what the healthy pod has and its twin lacks) is context.
func (d *Diagnosis) attribute() {
	if !slices.Contains(d.worse, true) {
		return
	}
	for f, x := range d.fs {
		s := d.subjectIndex(x.Subject)
		if x.Kind != contract.Cause || x.dropped || x.root >= 0 || s < 0 || d.worse[s] {
			continue
		}
		if len(d.Graph.findingEdges(f, Explains, true)) == 0 {
			x.Kind = contract.Context
		}
	}
}

// Findings ranks the findings and gives out IDs: causes that explain symptoms (severity,
// then how many each explains, rules' before the diagnosis's own), unexplained symptoms,
// causes that explain nothing seen, context, then the symptoms shown under their causes
// and the consequences folded under their roots.
func (d *Diagnosis) Findings() []contract.Finding {
	explains := map[int][]int{}
	explainedBy := map[int][]int{}
	for _, e := range d.Graph.Edges {
		if e.Kind != Explains {
			continue
		}
		c, s := d.Graph.Nodes[e.From].Finding, d.Graph.Nodes[e.To].Finding
		explains[c] = append(explains[c], s)
		explainedBy[s] = append(explainedBy[s], c)
	}
	group := func(idx int) int {
		f := d.fs[idx]
		switch {
		case f.Kind == contract.Cause && f.root >= 0:
			return 5
		case f.Kind == contract.Cause && len(explains[idx]) > 0:
			return 0
		case f.Kind == contract.Symptom && len(explainedBy[idx]) == 0:
			return 1
		case f.Kind == contract.Cause:
			return 2
		case f.Kind == contract.Context:
			return 3
		}
		return 4
	}
	order := make([]int, 0, len(d.fs))
	for i, f := range d.fs {
		if !f.dropped {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := d.fs[order[x]], d.fs[order[y]]
		if ga, gb := group(order[x]), group(order[y]); ga != gb {
			return ga < gb
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if na, nb := len(explains[order[x]]), len(explains[order[y]]); na != nb {
			return na > nb
		}
		if a.made != b.made {
			return !a.made
		}
		return false // keep the rules' order (rule name, message)
	})
	ids := make(map[int]string, len(order))
	for n, idx := range order {
		ids[idx] = fmt.Sprintf("f%d", n+1)
	}
	idsOf := func(in []int) []string {
		if len(in) == 0 {
			return nil
		}
		slices.Sort(in)
		in = slices.Compact(in)
		var out []string
		for _, x := range in {
			if id, ok := ids[x]; ok {
				out = append(out, id)
			}
		}
		sort.SliceStable(out, func(a, b int) bool { return idNum(out[a]) < idNum(out[b]) })
		return out
	}
	consequences := map[int][]int{}
	for i, f := range d.fs {
		if f.root >= 0 && !f.dropped {
			consequences[f.root] = append(consequences[f.root], i)
		}
	}
	out := make([]contract.Finding, len(order))
	for _, idx := range order {
		if group(idx) == 0 && d.fs[idx].effect == "" {
			var more string
			d.fs[idx].effect, more = d.effectOf(idx, explains[idx])
			if more != "" {
				d.fs[idx].Detail = strings.TrimPrefix(d.fs[idx].Detail+"; "+more, "; ")
			}
		}
	}
	for n, idx := range order {
		x := d.fs[idx]
		f := x.Finding
		f.ID = ids[idx]
		f.Message = x.message()
		f.Effect = x.effect
		f.Explains = idsOf(explains[idx])
		f.ExplainedBy = idsOf(explainedBy[idx])
		if x.root >= 0 {
			f.ConsequenceOf = ids[x.root]
		}
		f.Consequences = idsOf(consequences[idx])
		f.Evidence = d.evidence(f.Keys)
		if f.Keys == nil {
			f.Keys = []string{}
		}
		out[n] = f
	}
	return out
}

// idNum is the number of an output ID ("f12" -> 12).
func idNum(id string) int {
	n := 0
	for _, c := range strings.TrimPrefix(id, "f") {
		n = n*10 + int(c-'0')
	}
	return n
}

func (d *Diagnosis) evidence(keys []string) []contract.Evidence {
	var out []contract.Evidence
	for _, k := range keys {
		sec, key, ok := strings.Cut(k, "/")
		if !ok {
			continue
		}
		r, ok := d.c.Row(sec, key)
		if !ok {
			continue
		}
		vals := make(map[string]string, len(r.Values))
		for i, v := range r.Values {
			vals[d.c.Subjects[i]] = v
		}
		out = append(out, contract.Evidence{Row: k, Values: vals})
	}
	return out
}
