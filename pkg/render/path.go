package render

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// The path picture: for each failing probe, the hops its packets take in every subject
// (DIAGNOSIS.md, "The path through the node, and back"), each marked ok, fails here or
// not seen, with the fact that decides it. The hops are derived from the diagnosis graph:
// the rows the diagnosis found on the probe's path in each subject (diagnosis.Path),
// where they live (their section's Place), which of them it blamed (OnPath edges), the
// causes that explain the probe's symptom and, where the probe's target is a peer whose
// replies the diagnosis followed, the peer's path back (diagnosis.Return).

// hopKind is one stop on a probe's way.
type hopKind int

const (
	hopSocket hopKind = iota // the app's socket and what governs it (cgroup programs, uid, resolver)
	hopPod                   // the pod's policy rules, routes, netfilter, sysctls
	hopPodIf                 // the pod's interface and its neighbours
	hopVeth                  // the host end of the pod's veth and its sysctls
	hopNode                  // the node's routes, forwarding, netfilter
	hopDest                  // the destination
)

var hopNames = map[hopKind]string{
	hopSocket: "socket",
	hopPod:    "pod: rules, routes, netfilter",
	hopPodIf:  "pod interface",
	hopVeth:   "host veth",
	hopNode:   "node: routes, netfilter",
	hopDest:   "destination",
}

// hopOf is the hop a path row is drawn at: where its plugin says (contract.Analysis.Hop).
func hopOf(s diagnosis.Step) hopKind {
	switch s.Hop {
	case contract.HopSocket:
		return hopSocket
	case contract.HopPodInterface:
		return hopPodIf
	case contract.HopHostVeth:
		return hopVeth
	case contract.HopNode:
		return hopNode
	}
	return hopPod
}

// hopState is how a hop went.
type hopState string

const (
	stateOK      hopState = "ok"
	stateFails   hopState = "fails"   // the fault is here
	stateLost    hopState = "lost"    // the packets were lost here or beyond, and this part was not read
	stateNotSeen hopState = "notseen" // not read, or never reached
)

// stateWords is what a state says on the picture (and in print, without colour).
var stateWords = map[hopState]string{stateOK: "ok", stateFails: "FAILS HERE", stateLost: "lost here? not read", stateNotSeen: "not seen"}

// hop is one drawn stop.
type hop struct {
	Kind  hopKind
	Name  string
	State hopState
	// Detail is the fact or outcome that decides the state, one line; More the other
	// facts that differ there (a failing hop); Note a last line.
	Detail, Note string
	More         []string
	// Findings are the IDs of the causes this hop is the place of; Cause the first one's
	// words.
	Findings []string
	Cause    string
	// Return marks hops of the way back.
	Return bool
}

// lane is one subject's path for a probe.
type lane struct {
	Subject string
	Outcome string
	Failing bool
	Probed  bool // false: the subject did not run the probe
	Hops    []hop
}

// picture is one failing probe (or the probes of one target that fail alike) in every
// subject.
type picture struct {
	ID     string
	Title  string
	Probes []string // the outcome rows drawn
	Lanes  []lane
	// Failing is the index of a lane with a hop that fails (for the caption).
	Caption string
}

// maxPictures caps how many probes get a picture; the rest are counted.
const maxPictures = 24

// pictures builds one picture per failing probe target of res, from its diagnosis graph.
// It returns nil without a diagnosis (a Result built by hand).
func pictures(res *diff.Result) (out []picture, more int) {
	d := res.Diagnosis
	if d == nil {
		return nil, 0
	}
	c := d.Comparison()
	byTarget := map[string]int{}
	for _, p := range d.Probes() {
		if p.Proto == "" || len(p.Domains) > 0 || len(p.Failing()) == 0 {
			continue // counters have no path of their own
		}
		// One picture per target: the first probe of it (connects before lookups, as the
		// sections sort) is drawn, the others listed under it.
		group := p.Target + "\x00" + p.AddrKey + "\x00" + p.Proto
		if n, ok := byTarget[group]; ok {
			if n >= 0 {
				out[n].Probes = append(out[n].Probes, p.Row)
			}
			continue
		}
		if len(out) == maxPictures {
			byTarget[group] = -1
			more++
			continue
		}
		byTarget[group] = len(out)
		out = append(out, drawProbe(res, d, c, p, len(out)))
	}
	// The clearest contrast first: a probe that works somewhere and fails elsewhere
	// before one that fails everywhere (for different reasons).
	works := func(p picture) bool {
		return slices.ContainsFunc(p.Lanes, func(l lane) bool { return l.Probed && !l.Failing })
	}
	sort.SliceStable(out, func(a, b int) bool { return works(out[a]) && !works(out[b]) })
	for n := range out {
		out[n].ID = fmt.Sprintf("path%d", n+1)
	}
	return out, more
}

func drawProbe(res *diff.Result, d *diagnosis.Diagnosis, c *contract.Comparison, p *contract.Probe, n int) picture {
	what := p.Proto
	if p.AddrKey != "" {
		what += " " + p.AddrKey
	}
	pic := picture{ID: fmt.Sprintf("path%d", n+1), Title: fmt.Sprintf("%s (%s)", p.Target, what), Probes: []string{p.Row}}
	for i := range c.Subjects {
		pic.Lanes = append(pic.Lanes, drawLane(res, d, c, p, i))
	}
	pic.Caption = caption(pic)
	return pic
}

// causesOf are the top-level causes (roots) that explain probe p's symptom in subject i.
func causesOf(res *diff.Result, p *contract.Probe, name string) []diff.Finding {
	byID := map[string]diff.Finding{}
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	var out []diff.Finding
	for _, f := range res.Findings {
		if f.Kind != diff.Symptom || !slices.Contains(f.Keys, p.Row) || f.Subject != name && f.Subject != "" {
			continue
		}
		for _, id := range f.ExplainedBy {
			cause, ok := byID[id]
			for ok && cause.ConsequenceOf != "" {
				cause, ok = byID[cause.ConsequenceOf]
			}
			if ok && !slices.ContainsFunc(out, func(x diff.Finding) bool { return x.ID == cause.ID }) {
				out = append(out, cause)
			}
		}
	}
	return out
}

// findingFor is the finding that rests on row in subject name (its root), if any.
func findingFor(res *diff.Result, row, name string) (diff.Finding, bool) {
	byID := map[string]diff.Finding{}
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	for _, f := range res.Findings {
		if f.Kind == diff.Symptom || f.Subject != name || !slices.Contains(f.Keys, row) {
			continue
		}
		for f.ConsequenceOf != "" {
			r, ok := byID[f.ConsequenceOf]
			if !ok {
				break
			}
			f = r
		}
		return f, true
	}
	return diff.Finding{}, false
}

func drawLane(res *diff.Result, d *diagnosis.Diagnosis, c *contract.Comparison, p *contract.Probe, i int) lane {
	name := c.Subjects[i]
	l := lane{Subject: name, Outcome: p.Detail[i], Failing: p.Status[i] != contract.OK && p.Status[i] != contract.Unknown,
		Probed: p.Status[i] != contract.Unknown}
	hops := make([]hop, hopDest+1)
	for k := range hops {
		hops[k] = hop{Kind: hopKind(k), Name: hopNames[hopKind(k)], State: stateOK}
	}
	hops[hopDest].Name = "destination " + p.Target
	if p.Status[i] == contract.Unknown {
		for k := range hops {
			hops[k].State, hops[k].Detail = stateNotSeen, "not probed from "+name
		}
		l.Hops = hops
		return l
	}
	better := p.Better(i)
	nodeRead := d.NodeRead(i)
	read := map[hopKind]int{}
	for _, s := range d.Path(p, i, better) {
		h := hopOf(s)
		if !s.Read {
			continue
		}
		read[h]++
		if l.Failing && (s.Blamed || s.Deviates) {
			markFails(&hops[h], res, s.Row, i, c)
		}
	}
	// What each hop read, where nothing failed there.
	for k := range hops[:hopDest] {
		h := &hops[k]
		if h.State != stateOK {
			continue
		}
		switch {
		case (h.Kind == hopVeth || h.Kind == hopNode) && !nodeRead:
			h.State, h.Detail = stateNotSeen, "not read: rerun with --node-side"
		case h.Kind == hopPod && i < len(p.Route) && p.Route[i].Known:
			h.Detail = routeWords(p.Route[i])
		case read[h.Kind] > 0:
			h.Detail = fmt.Sprintf("%d %s on the path, alike", read[h.Kind], plural(read[h.Kind], "fact", "facts"))
		default:
			h.Detail = "nothing read differs"
		}
	}
	// Causes that explain this probe here but rest on no fact drawn yet: an inferred
	// refusal in the pod, packets lost where nothing read differs, a drop.
	if l.Failing && !slices.ContainsFunc(hops, func(h hop) bool { return h.State == stateFails }) {
		for _, f := range causesOf(res, p, name) {
			if f.Subject != name {
				continue // the peer's cause: drawn on the way back
			}
			placeCause(hops, d, f, nodeRead)
		}
	}
	// The destination: what the probe saw.
	dest := &hops[hopDest]
	dest.Detail = "outcome: " + p.Detail[i]
	switch p.Status[i] {
	case contract.OK:
	case contract.FailLocal:
		dest.State = stateNotSeen
		if !slices.ContainsFunc(hops, func(h hop) bool { return h.State == stateFails }) {
			// Refused by its own kernel and nothing read says where: the socket's call.
			hops[hopSocket].State, hops[hopSocket].Note = stateFails, "refused by the pod's own kernel"
		}
	default:
		if !slices.ContainsFunc(hops, func(h hop) bool { return h.State == stateFails || h.State == stateLost }) {
			dest.State = stateFails
		} else {
			dest.State = stateNotSeen
		}
	}
	// After the first hop that fails nothing was seen: the packets never got there.
	failed := false
	for k := range hops[:hopDest] {
		if failed && hops[k].State == stateOK {
			hops[k].State, hops[k].Note = stateNotSeen, "not reached"
		}
		failed = failed || hops[k].State == stateFails
	}
	l.Hops = hops
	// The way back through a peer the diagnosis followed: where a hop there fails, the
	// destination's silence is that hop's doing.
	if back, j, followed := d.Return(p, i); back != nil && followed && l.Failing && p.Status[i] != contract.FailLocal {
		ret := returnHops(res, d, c, back, i, j)
		if slices.ContainsFunc(ret, func(h hop) bool { return h.State == stateFails }) && l.Hops[hopDest].State == stateFails {
			l.Hops[hopDest].State, l.Hops[hopDest].Note = stateNotSeen, "its replies never come back: see the way back"
		}
		l.Hops = append(l.Hops, ret...)
	}
	return l
}

// maxMoreFacts is how many more differing facts a failing hop shows beside the first.
const maxMoreFacts = 2

// markFails makes h the place of the fault decided by row (in subject i).
func markFails(h *hop, res *diff.Result, r contract.Row, i int, c *contract.Comparison) {
	if h.State == stateFails {
		if len(h.More) < maxMoreFacts {
			h.More = append(h.More, rowWords(r, i, c))
		}
		if f, ok := findingFor(res, r.ID(), c.Subjects[i]); ok && !slices.Contains(h.Findings, f.ID) {
			h.Findings = append(h.Findings, f.ID)
		}
		return
	}
	h.State = stateFails
	h.Detail = rowWords(r, i, c)
	if f, ok := findingFor(res, r.ID(), c.Subjects[i]); ok {
		h.Findings = append(h.Findings, f.ID)
		h.Cause = f.Message
	}
}

// rowWords is a differing row in subject i, against the others: "routes table/main/default:
// absent (default/web-a: via 10.244.0.1 dev eth0)".
func rowWords(r contract.Row, i int, c *contract.Comparison) string {
	v := r.Values[i]
	if !r.Present(i) {
		v = "absent"
	}
	var others []string
	for j := range r.Values {
		if j == i {
			continue
		}
		o := r.Values[j]
		if !r.Present(j) {
			o = "absent"
		}
		others = append(others, c.Subjects[j]+": "+o)
		if len(others) == 2 {
			break
		}
	}
	return fmt.Sprintf("%s %s: %s (%s)", r.Section, r.Key, v, strings.Join(others, "; "))
}

// routeWords is a route answer as the hop shows it.
func routeWords(a contract.RouteAnswer) string {
	if a.Err != "" {
		return "route lookup: " + a.Err
	}
	s := a.Type
	if a.Via != "" {
		s += " via " + a.Via
	}
	if a.Dev != "" {
		s += " dev " + a.Dev
	}
	if a.Table != "" {
		s += " table " + a.Table
	}
	return "route: " + strings.TrimSpace(s)
}

// placeCause draws a cause that rests on no fact on the path at the hop its rows' or its
// place says.
func placeCause(hops []hop, d *diagnosis.Diagnosis, f diff.Finding, nodeRead bool) {
	k := hopPod
	switch f.Place {
	case "node":
		k = hopVeth
		if !nodeRead {
			// Lost after the pod, in a half nobody read: the node's hops say so.
			for _, n := range []hopKind{hopVeth, hopNode} {
				hops[n].State, hops[n].Detail = stateLost, "not read: rerun with --node-side"
				hops[n].Findings = append(hops[n].Findings, f.ID)
				hops[n].Cause = f.Message
			}
			return
		}
		k = hopNode
	case "beyond-node":
		hops[hopDest].Findings = append(hops[hopDest].Findings, f.ID)
		hops[hopDest].Cause = f.Message
		hops[hopDest].Note = "lost beyond the node"
		return
	default:
		for _, key := range f.Keys {
			if h := hopOf(diagnosis.Step{Hop: d.HopOfFact(key)}); h != hopPod {
				k = h
				break
			}
		}
	}
	h := &hops[k]
	h.State = stateFails
	h.Detail = f.Message
	h.Findings = append(h.Findings, f.ID)
	h.Cause = f.Message
}

// returnHops are the replies' way back from peer j to subject i: the peer's own path
// for the reverse probe, node first, then the pod, its rows compared with the others'.
func returnHops(res *diff.Result, d *diagnosis.Diagnosis, c *contract.Comparison, back *contract.Probe, i, j int) []hop {
	var others []int
	for k := range c.Subjects {
		if k != j {
			others = append(others, k)
		}
	}
	peer := c.Subjects[j]
	kinds := []hopKind{hopPod, hopPodIf, hopVeth, hopNode}
	hops := make([]hop, len(kinds))
	idx := map[hopKind]int{}
	for n, k := range kinds {
		idx[k] = n
		hops[n] = hop{Kind: k, Name: peer + " " + strings.TrimPrefix(hopNames[k], "pod: "), State: stateOK, Return: true}
	}
	hops[idx[hopPod]].Name = "back: " + peer + "'s rules, routes"
	hops[idx[hopPodIf]].Name = "back: " + peer + "'s interface"
	hops[idx[hopVeth]].Name = "back: " + peer + "'s host veth"
	hops[idx[hopNode]].Name = "back: " + peer + "'s node"
	read := map[hopKind]int{}
	for _, s := range d.Path(back, j, others) {
		h := hopOf(s)
		if h == hopSocket {
			h = hopPod
		}
		if !s.Read {
			continue
		}
		read[h]++
		if s.Deviates {
			markFails(&hops[idx[h]], res, s.Row, j, c)
		}
	}
	failed := false
	for n := range hops {
		h := &hops[n]
		switch {
		case h.State == stateFails:
		case failed:
			h.State, h.Note = stateNotSeen, "not reached"
		case (h.Kind == hopVeth || h.Kind == hopNode) && !d.NodeRead(j):
			h.State, h.Detail = stateNotSeen, "not read: rerun with --node-side"
		case h.Kind == hopPod && j < len(back.Route) && back.Route[j].Known:
			h.Detail = routeWords(back.Route[j])
		case read[h.Kind] > 0:
			h.Detail = fmt.Sprintf("%d %s on the way back, alike", read[h.Kind], plural(read[h.Kind], "fact", "facts"))
		default:
			h.Detail = "nothing read differs"
		}
		failed = failed || h.State == stateFails
	}
	return hops
}

// caption says in one sentence where the probe dies, from the lanes.
func caption(pic picture) string {
	var parts []string
	for _, l := range pic.Lanes {
		if !l.Probed {
			parts = append(parts, l.Subject+": not probed")
			continue
		}
		if !l.Failing {
			parts = append(parts, l.Subject+": works ("+l.Outcome+")")
			continue
		}
		where := ""
		for _, h := range l.Hops {
			if h.State == stateFails {
				where = "fails at " + h.Name
				break
			}
			if h.State == stateLost && where == "" {
				where = "lost after the pod, in a part not read (" + h.Name + ")"
			}
		}
		if where == "" {
			where = "fails (no hop read differs)"
		}
		parts = append(parts, l.Subject+": "+where+" ("+l.Outcome+")")
	}
	return strings.Join(parts, "; ")
}
