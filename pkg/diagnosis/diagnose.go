package diagnosis

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// Rules named by the diagnosis itself (no plugin's rule).
const (
	// RuleOutsidePod is the finding that a subject's packets leave the pod and are lost
	// where nothing read differs.
	RuleOutsidePod = "diagnosis/outside-pod"
)

// Run turns the rules' flat findings into a diagnosis (docs/findings.md): it follows
// every probe that fails in one subject and works (or fails less) in another along its
// path through the pod and its node, and back, finds the differing state rows there, and
// links the symptom findings to the cause findings that name those rows, creating a
// cause for a differing row that no rule named. A probe of a peer that cannot answer is
// explained by the peer's causes, never by what a healthy peer has. A difference that
// only follows from another is folded under its root. The result is ranked: causes first
// (severity, then how much each explains), then unexplained symptoms, then context, then
// the explained symptoms and the consequences.
func Run(c *contract.Comparison, fs []contract.Finding) []contract.Finding {
	return Build(c, fs).Findings()
}

// Diagnosis is one comparison's diagnosis: the findings and the graph relating them.
type Diagnosis struct {
	c     *contract.Comparison
	as    map[string]contract.Analysis
	list  []contract.Analysis // the same, sorted by section
	fs    []*finding
	Graph Graph
	// byFact: a differing row blamed in one subject -> the cause finding naming it.
	byFact map[fact]int
	// groups: made symptoms by subject, section and target.
	groups map[string]int
	// worse[i]: subject i does worse than another subject on some probe.
	worse []bool
	// outside[i]: the finding that subject i's packets are lost outside the pod.
	outside map[int]int
	// objects: the cause made for a thing only one subject has (section, object, subject).
	objects map[string]int
	// all are the probes that differ.
	all []*contract.Probe
}

type fact struct {
	row     string
	subject int
}

type symptomKey struct {
	row     string
	subject int
}

// Build diagnoses c from the rules' findings fs.
func Build(c *contract.Comparison, fs []contract.Finding) *Diagnosis {
	list := registeredAnalyses()
	d := &Diagnosis{c: c, list: list, as: map[string]contract.Analysis{}, byFact: map[fact]int{},
		groups: map[string]int{}, outside: map[int]int{}, objects: map[string]int{}}
	for _, a := range list {
		d.as[a.Section] = a
	}
	for _, f := range fs {
		if f.Kind == "" {
			f.Kind = kindOf(f, d.as)
		}
		d.add(&finding{Finding: f, root: -1})
	}
	probes := d.probes()
	d.all = probes
	d.worse = make([]bool, len(c.Subjects))
	for i := range c.Subjects {
		d.worse[i] = worseSomewhere(probes, i)
	}
	links := d.explainProbes(probes)
	d.link(links, probes)
	d.chain()
	d.cover()
	d.witnessed()
	d.restated()
	d.attribute()
	return d
}

func (d *Diagnosis) add(f *finding) int {
	d.fs = append(d.fs, f)
	idx := len(d.fs) - 1
	d.Graph.findingNode(idx)
	for _, k := range f.Keys {
		if s := d.subjectIndex(f.Subject); s >= 0 {
			d.Graph.edge(d.Graph.findingNode(idx), d.Graph.factNode(k, s), RestsOn)
		}
	}
	return idx
}

func (d *Diagnosis) subjectIndex(name string) int {
	if name == "" {
		return -1
	}
	return slices.Index(d.c.Subjects, name)
}

func kindOf(f contract.Finding, as map[string]contract.Analysis) contract.Kind {
	if f.Severity == contract.Info {
		return contract.Context
	}
	switch roleOf(f.Rule, as) {
	case contract.Outcome:
		return contract.Symptom
	case contract.Background:
		return contract.Context
	}
	return contract.Cause
}

// worseSomewhere reports whether subject i does worse than another subject on a probe.
func worseSomewhere(probes []*contract.Probe, i int) bool {
	for _, p := range probes {
		if len(p.Domains) == 0 && len(p.Better(i)) > 0 {
			return true
		}
	}
	return false
}

// probes reads every differing outcome row as a probe, annotated by every section.
func (d *Diagnosis) probes() []*contract.Probe {
	var out []*contract.Probe
	for _, a := range d.list {
		if a.Role != contract.Outcome || a.Probes == nil {
			continue
		}
		for _, r := range d.c.Section(a.Section) {
			if r.Equal {
				continue
			}
			p, ok := a.Probes(d.c, r)
			if !ok || len(p.Status) != len(d.c.Subjects) {
				continue
			}
			p.Row = r.ID()
			if p.Detail == nil {
				p.Detail = r.Values
			}
			out = append(out, &p)
		}
	}
	for _, p := range out {
		d.annotate(p)
	}
	return out
}

func (d *Diagnosis) annotate(p *contract.Probe) {
	n := len(d.c.Subjects)
	if p.Addr == nil {
		p.Addr = make([]netip.Addr, n)
		for i := range n {
			if a, ok := p.HostAddr(d.c, i); ok {
				p.Addr[i] = a
			}
		}
	}
	if p.Route == nil {
		p.Route = make([]contract.RouteAnswer, n)
	}
	for _, a := range d.list {
		if a.Annotate != nil {
			a.Annotate(d.c, p)
		}
	}
}

// explainProbes finds the causes of every failing probe: probes with an address first,
// so that counters can join the causes those found.
func (d *Diagnosis) explainProbes(probes []*contract.Probe) map[symptomKey][]int {
	links := map[symptomKey][]int{}
	var unexplained []struct {
		p *contract.Probe
		i int
	}
	for _, p := range probes {
		if len(p.Domains) > 0 {
			continue
		}
		for _, i := range p.Failing() {
			cs := d.explain(p, i)
			if len(cs) > 0 || d.mustShow(p, i) {
				links[symptomKey{p.Row, i}] = cs
			}
			if len(cs) == 0 && len(p.Better(i)) > 0 {
				unexplained = append(unexplained, struct {
					p *contract.Probe
					i int
				}{p, i})
			}
		}
	}
	// What nothing on the pod's side explains and left the pod: one finding per subject.
	for _, u := range unexplained {
		if o := d.outsidePod(u.p, u.i); o >= 0 {
			links[symptomKey{u.p.Row, u.i}] = []int{o}
		}
	}
	for _, p := range probes {
		if len(p.Domains) == 0 {
			continue
		}
		for _, i := range p.Failing() {
			if len(p.Better(i)) == 0 {
				continue
			}
			cs := d.subjectCauses(links, i, p.Domains)
			if len(cs) == 0 && !d.worse[i] {
				// A failure counter moving only in a subject whose probes all did as well as
				// the other's: the other sent no such traffic, its probes failed first.
				for j := range d.c.Subjects {
					if j != i {
						cs = append(cs, d.subjectCauses(links, j, p.Domains)...)
					}
				}
			}
			links[symptomKey{p.Row, i}] = cs
		}
	}
	return links
}

// mustShow: a failing probe nothing explains is still a symptom when another subject
// does better, or when it probes a peer.
func (d *Diagnosis) mustShow(p *contract.Probe, i int) bool {
	return len(p.Better(i)) > 0 || p.Peer(d.c, i) >= 0
}

// explain returns the cause findings for probe p failing in subject i: differing rows on
// its path in i (against a subject that does better); else, for a probe of a peer that
// itself does worse somewhere, rows on the way back in the peer; else a cause inferred
// from evidence.
func (d *Diagnosis) explain(p *contract.Probe, i int) []int {
	better := p.Better(i)
	if len(better) > 0 {
		if cs := d.onPath(p, i, better); len(cs) > 0 {
			return cs
		}
	}
	// A healthy peer is never blamed for what it has and i lacks: only a peer that does
	// worse than another subject somewhere can be where i's probe of it dies, on anything
	// on its way back. A peer that does well everywhere may still refuse to answer: then
	// only what governs answering alone (echo requests ignored) is looked at, since a
	// value i lacks there cannot make the peer's own probes fail.
	if j := p.Peer(d.c, i); j >= 0 {
		back := d.reverse(p, i, j)
		var others []int
		for k := range d.c.Subjects {
			if k != j {
				others = append(others, k)
			}
		}
		keep := func(contract.Row) bool { return true }
		if !d.worse[j] {
			keep = d.replyOnly(back, j)
		}
		if cs := d.onPath(back, j, others, keep); len(cs) > 0 {
			return cs
		}
	}
	if len(better) == 0 {
		return nil
	}
	var out []int
	for _, a := range d.list {
		if a.Infer == nil {
			continue
		}
		if f := a.Infer(d.c, p, i, better); f != nil {
			out = append(out, d.addInferred(*f, i))
		}
	}
	return out
}

// reverse is probe p as subject j would send it back to subject i.
func (d *Diagnosis) reverse(p *contract.Probe, i, j int) *contract.Probe {
	back := *p
	back.Target = strings.Replace(p.Target, contract.PeerPlaceholder(contract.PeerIP, d.c.Subjects, j),
		contract.PeerPlaceholder(contract.PeerIP, d.c.Subjects, i), 1)
	back.Addr, back.Route = nil, nil
	// The replies are the peer kernel's (its listening socket's), not sent as anyone's app.
	back.AsApp, back.UIDs, back.Reply = false, nil, true
	if back.Target != p.Target || len(d.c.Subjects) != 2 {
		back.Row = ""
	}
	d.annotate(&back)
	return &back
}

// replyOnly tells the rows on back's path in subject j that lie only on the path of an
// answer: not on the same probe sent by j.
func (d *Diagnosis) replyOnly(back *contract.Probe, j int) func(contract.Row) bool {
	sent := *back
	sent.Reply = false
	onSent := map[string]bool{}
	for _, r := range d.pathRows(&sent, j) {
		onSent[r.ID()] = true
	}
	return func(r contract.Row) bool { return !onSent[r.ID()] }
}

// pathRows lists the rows on p's path in subject i, section by section, pod before node.
func (d *Diagnosis) pathRows(p *contract.Probe, i int) []contract.Row {
	var out []contract.Row
	for _, place := range []contract.Place{contract.InPod, contract.OnNode} {
		for _, a := range d.list {
			if a.Path == nil || a.Place != place {
				continue
			}
			for _, key := range a.Path(d.c, p, i) {
				if r, ok := d.c.Row(a.Section, key); ok {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// onPath finds the differing rows on p's path in subject i where i's value is not that
// of any subject in against, and returns their cause findings (made where no rule named
// the row).
func (d *Diagnosis) onPath(p *contract.Probe, i int, against []int, keep ...func(contract.Row) bool) []int {
	var out []int
	for _, r := range d.pathRows(p, i) {
		if r.Equal || !d.deviates(r, i, against) || len(keep) > 0 && !keep[0](r) {
			continue
		}
		c := d.causeFor(r, i, against[0])
		out = append(out, c)
		if p.Row != "" {
			d.Graph.edge(d.Graph.probeNode(p.Row, i), d.Graph.factNode(r.ID(), i), OnPath)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// deviates reports whether subject i's value of r differs from every value in against.
// A subject whose report lacks the whole section (never read: a node side that could not
// be collected) says nothing about the row, neither alike nor different.
func (d *Diagnosis) deviates(r contract.Row, i int, against []int) bool {
	if !d.sectionIn(i, r.Section) {
		return false
	}
	compared := false
	for _, j := range against {
		if !d.sectionIn(j, r.Section) {
			continue
		}
		compared = true
		if r.Present(i) == r.Present(j) && r.Values[i] == r.Values[j] {
			return false
		}
	}
	return compared
}

// causeFor returns the finding that names row r as a cause in subject i: a rule's
// cause finding resting on that row, or one made here.
func (d *Diagnosis) causeFor(r contract.Row, i, j int) int {
	k := fact{r.ID(), i}
	if idx, ok := d.byFact[k]; ok {
		return idx
	}
	// A rule's cause first; else context that explains (a namespace still settling
	// during the window). Context that only lists the row among others (diff/odd-one-out
	// with three or more subjects) must not take the place of the rule that names it.
	for _, kind := range []contract.Kind{contract.Cause, contract.Context} {
		for idx, f := range d.fs {
			if f.Kind == kind && !f.dropped && slices.Contains(f.Keys, r.ID()) && (f.Subject == "" || f.Subject == d.c.Subjects[i]) {
				f.Subject = d.c.Subjects[i]
				f.Place = d.as[r.Section].Place.String()
				d.byFact[k] = idx
				d.Graph.edge(d.Graph.findingNode(idx), d.Graph.factNode(r.ID(), i), RestsOn)
				return idx
			}
		}
	}
	a := d.as[r.Section]
	obj := ""
	if a.Object != nil && onlyIn(r, i) {
		obj = r.Section + "\x00" + a.Object(r) + "\x00" + strconv.Itoa(i)
		if idx, ok := d.objects[obj]; ok {
			// Another property of a thing only i has: the same cause.
			d.fs[idx].Keys = append(d.fs[idx].Keys, r.ID())
			d.fs[idx].parts = append(d.fs[idx].parts, r.Key+" "+r.Values[i])
			d.byFact[k] = idx
			return idx
		}
	}
	msg := ""
	if a.Describe != nil {
		msg = a.Describe(d.c, r, i, j)
	}
	if msg == "" {
		msg = contract.DescribeRow(d.c, r, i, j)
	}
	detail := ""
	if a.Detail != nil {
		detail = a.Detail(d.c, r, i, j)
	}
	idx := d.add(&finding{Finding: contract.Finding{Kind: contract.Cause, Severity: contract.Medium,
		Subject: d.c.Subjects[i], Rule: r.Section + "/differs-on-path", Message: msg, Detail: detail, Keys: []string{r.ID()},
		Place: a.Place.String()}, made: true, root: -1})
	d.byFact[k] = idx
	if obj != "" {
		d.objects[obj] = idx
	}
	return idx
}

// onlyIn tells whether subject i is the only one whose report has row r.
func onlyIn(r contract.Row, i int) bool {
	for j := range r.Values {
		if r.Present(j) != (j == i) {
			return false
		}
	}
	return true
}

func (d *Diagnosis) addInferred(f contract.Finding, i int) int {
	f.Kind, f.Subject = contract.Cause, d.c.Subjects[i]
	if f.Place == "" {
		f.Place = contract.InPod.String()
	}
	for idx, g := range d.fs {
		if g.Rule == f.Rule && g.Subject == f.Subject && g.Message == f.Message {
			return idx
		}
	}
	return d.add(&finding{Finding: f, root: -1})
}

// subjectCauses are the causes already found for subject i's probes (its own, or a
// peer's that explain them), limited to the given sections.
func (d *Diagnosis) subjectCauses(links map[symptomKey][]int, i int, domains []string) []int {
	var out []int
	for k, cs := range links {
		if k.subject != i {
			continue
		}
		for _, idx := range cs {
			sec, _, _ := strings.Cut(d.fs[idx].Rule, "/")
			if slices.Contains(domains, "*") || slices.Contains(domains, sec) {
				out = append(out, idx)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sectionIn tells whether subject i's report holds the section.
func (d *Diagnosis) sectionIn(i int, section string) bool {
	if i >= len(d.c.Reports) || d.c.Reports[i] == nil {
		return false
	}
	raw, ok := d.c.Reports[i].Sections[section]
	return ok && len(raw) > 0 && string(raw) != "null"
}

// unread says what on the path of subject i could not be read, in the sections placed
// at place, and what would read it.
func (d *Diagnosis) unread(i int, place contract.Place) []string {
	var out []string
	for _, a := range d.list {
		if a.Unread == nil || a.Place != place {
			continue
		}
		if s := a.Unread(d.c, i); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// nodeRead tells whether the node's half of subject i's path was read.
func (d *Diagnosis) nodeRead(i int) bool {
	for _, a := range d.list {
		if a.Place == contract.OnNode && a.Path != nil && d.sectionIn(i, a.Section) {
			return true
		}
	}
	return false
}

// outsidePod: probe p failed out on the path in subject i (its packets left: no local
// refusal), a subject does better, and nothing on i's side of the path differs while
// every section there was read. That is a finding of its own, the first thing to know:
// where the packets die is beyond what was read. It returns the finding (one per
// subject), or -1 when the evidence does not say so.
func (d *Diagnosis) outsidePod(p *contract.Probe, i int) int {
	if p.Proto == "" || p.Status[i] != contract.FailRemote && p.Status[i] != contract.Mixed {
		return -1
	}
	left := ""
	if u := d.unread(i, contract.InPod); len(u) > 0 {
		// Part of the pod's side could not be read. A drop there is still ruled out for
		// datagrams: the kernel fails a send that its own netfilter drops at once (EPERM),
		// so a UDP query or a ping that timed out left the pod.
		proto := d.leftThePod(i)
		if proto == "" {
			return -1
		}
		left = fmt.Sprintf(" (its %s probes time out where a drop in the pod fails them at once)", proto)
	}
	if idx, ok := d.outside[i]; ok {
		if p.Status[i] == contract.FailRemote && d.fs[idx].Severity < contract.High {
			// A probe that always fails: the loss is no longer only now and then.
			d.fs[idx].Severity = contract.High
			d.fs[idx].Message = strings.TrimPrefix(d.fs[idx].Message, "some of ")
		}
		return idx
	}
	name := d.c.Subjects[i]
	var others []string
	for _, j := range p.Better(i) {
		others = append(others, d.c.Subjects[j])
	}
	other := strings.Join(others, ", ")
	f := contract.Finding{Kind: contract.Cause, Severity: contract.High, Subject: name, Rule: RuleOutsidePod, Keys: []string{}}
	some := ""
	if p.Status[i] == contract.Mixed {
		// An attempt lost now and then (one SYN of five on a busy node) is worth saying,
		// not as loudly as packets that never arrive.
		f.Severity, some = contract.Low, "some of "
	}
	switch {
	case !d.nodeRead(i):
		f.Place = contract.OnNode.String()
		f.Message = fmt.Sprintf("%s%s's packets leave the pod and are lost: nothing on its side of the path differs from %s's%s; its node's half was not read: rerun with --node-side", some, name, other, left)
	case len(d.unread(i, contract.OnNode)) > 0:
		f.Place = contract.OnNode.String()
		f.Message = fmt.Sprintf("%s%s's packets leave the pod and are lost: nothing read on its path differs from %s's, but part of its node's half could not be read (%s)", some, name, other, strings.Join(d.unread(i, contract.OnNode), "; "))
	default:
		f.Place = "beyond-node"
		f.Message = fmt.Sprintf("%s%s's packets are lost beyond its node: nothing on its path through the pod and the node differs from %s's%s", some, name, other, left)
	}
	idx := d.add(&finding{Finding: f, made: true, root: -1})
	d.outside[i] = idx
	return idx
}

// leftThePod names a datagram transport (udp, icmp) whose probe timed out in subject i:
// its packets left the pod, since a drop by the pod's own netfilter fails the send.
func (d *Diagnosis) leftThePod(i int) string {
	for _, proto := range []string{"udp", "icmp"} {
		for _, p := range d.all {
			if p.Proto == proto && i < len(p.Status) && p.Status[i] == contract.FailRemote {
				return strings.ToUpper(proto)
			}
		}
	}
	return ""
}

// link makes every (probe row, subject) a symptom finding, the rules' own where one rests
// on that row, else one made here, and ties symptoms and causes both ways.
func (d *Diagnosis) link(links map[symptomKey][]int, probes []*contract.Probe) {
	byRow := map[string]*contract.Probe{}
	for _, p := range probes {
		byRow[p.Row] = p
	}
	keys := make([]symptomKey, 0, len(links))
	for k := range links {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].row != keys[b].row {
			return keys[a].row < keys[b].row
		}
		return keys[a].subject < keys[b].subject
	})
	explainedBy := map[int][]int{}
	var syms []int
	for _, k := range keys {
		for _, s := range d.symptomsOf(k, byRow[k.row]) {
			if _, seen := explainedBy[s]; !seen {
				syms = append(syms, s)
			}
			explainedBy[s] = append(explainedBy[s], links[k]...)
			d.Graph.edge(d.Graph.findingNode(s), d.Graph.probeNode(k.row, k.subject), RestsOn)
		}
	}
	d.foldMade(explainedBy)
	slices.Sort(syms)
	for _, s := range syms {
		cs := explainedBy[s]
		slices.Sort(cs)
		cs = slices.Compact(cs)
		for _, c := range cs {
			if peer := d.fs[c].Subject; peer != "" && d.fs[s].Subject != "" && peer != d.fs[s].Subject {
				// Across subjects: the healthy side's probe of a peer that cannot answer.
				d.fs[s].causeIn = peer
			}
			d.Graph.edge(d.Graph.findingNode(c), d.Graph.findingNode(s), Explains)
			if d.fs[s].Severity > d.fs[c].Severity {
				d.fs[c].Severity = d.fs[s].Severity
			}
		}
		if len(cs) == 0 {
			d.fs[s].Checked = d.checked(byRowOf(byRow, d.fs[s].Keys), d.subjectIndex(d.fs[s].Subject))
		}
	}
	// Packets lost out on the path only now and then stay a medium cause, however loud
	// the rules were about the attempts that failed.
	for _, idx := range d.outside {
		if strings.HasPrefix(d.fs[idx].Message, "some of ") {
			d.fs[idx].Severity = min(d.fs[idx].Severity, contract.Medium)
		}
	}
}

// foldMade merges a cause the diagnosis made (a differing row no rule named) into a
// rule's cause of the same section and subject that explains symptoms too: one subject's
// routes that are missing are one cause, named by the rule, with the other rows as
// evidence.
func (d *Diagnosis) foldMade(explainedBy map[int][]int) {
	linked := map[int]bool{}
	for _, cs := range explainedBy {
		for _, c := range cs {
			linked[c] = true
		}
	}
	into := map[int]int{}
	for g, f := range d.fs {
		if !f.made || !linked[g] || f.Rule == RuleOutsidePod {
			continue
		}
		gs, _, _ := strings.Cut(f.Rule, "/")
		for r, rf := range d.fs {
			rs, _, _ := strings.Cut(rf.Rule, "/")
			if !rf.made && linked[r] && rf.Kind == contract.Cause && rs == gs && rf.Subject == f.Subject {
				into[g] = r
				break
			}
		}
	}
	for g := range d.fs {
		r, ok := into[g]
		if !ok {
			continue
		}
		d.foldInto(g, r)
	}
	for s, cs := range explainedBy {
		for k, c := range cs {
			if r, ok := into[c]; ok {
				cs[k] = r
			}
		}
		explainedBy[s] = cs
	}
}

// foldInto makes cause g part of cause r: its rows become r's evidence, its words r's.
func (d *Diagnosis) foldInto(g, r int) {
	d.fs[r].Keys = append(d.fs[r].Keys, d.fs[g].Keys...)
	d.fs[r].also = append(d.fs[r].also, d.fs[g].Message)
	d.fs[g].dropped = true
	for k, idx := range d.byFact {
		if idx == g {
			d.byFact[k] = r
		}
	}
	for _, s := range d.Graph.findingEdges(g, Explains, true) {
		d.Graph.edge(d.Graph.findingNode(r), d.Graph.findingNode(s), Explains)
	}
	d.Graph.removeEdges(g, Explains)
	d.Graph.edge(d.Graph.findingNode(g), d.Graph.findingNode(r), FoldedInto)
}

func byRowOf(byRow map[string]*contract.Probe, keys []string) *contract.Probe {
	for _, k := range keys {
		if p, ok := byRow[k]; ok {
			return p
		}
	}
	return nil
}

// symptomsOf returns the symptom findings resting on the probe's row for subject k, making
// one where no rule's symptom does.
func (d *Diagnosis) symptomsOf(k symptomKey, p *contract.Probe) []int {
	var out []int
	name := d.c.Subjects[k.subject]
	for idx, f := range d.fs {
		if f.Kind != contract.Symptom || !slices.Contains(f.Keys, k.row) {
			continue
		}
		if f.Subject != "" && f.Subject != name {
			continue
		}
		// A rule's symptom names the subjects it is about; one that names none is about all.
		if f.Subject == "" && mentionsAny(f.Message, d.c.Subjects) && !mentions(f.Message, name) {
			continue
		}
		if f.Subject == "" && strings.HasPrefix(f.Message, name+":") {
			f.Subject = name
		}
		out = append(out, idx)
	}
	if len(out) > 0 || p == nil {
		return out
	}
	// One made symptom per subject, section and target: "web-b: connect to
	// tcp://10.0.0.1:80 ipv4: nonblocking ENETUNREACH 5/5 (web-a: ok 5/5); blocking …".
	sec, key, _ := strings.Cut(k.row, "/")
	var others []string
	for j, v := range p.Detail {
		if j != k.subject {
			others = append(others, d.c.Subjects[j]+": "+v)
		}
	}
	what := strings.TrimSuffix(strings.TrimSuffix(key, p.AddrKey), "/")
	what = strings.TrimSpace(strings.ReplaceAll(strings.TrimSuffix(what, p.Target), "/", " "))
	if what != "" {
		what += " "
	}
	part := fmt.Sprintf("%s%s (%s)", what, p.Detail[k.subject], strings.Join(others, ", "))
	group := name + "\x00" + sec + "\x00" + p.Target + "\x00" + p.AddrKey
	if idx, ok := d.groups[group]; ok {
		d.fs[idx].Keys = append(d.fs[idx].Keys, k.row)
		d.fs[idx].parts = append(d.fs[idx].parts, part)
		return []int{idx}
	}
	head := fmt.Sprintf("%s: %s %s", name, sec, p.Target)
	if p.AddrKey != "" {
		head += " (" + p.AddrKey + ")"
	}
	idx := d.add(&finding{Finding: contract.Finding{Kind: contract.Symptom, Severity: contract.Medium, Subject: name,
		Rule: sec + "/outcome-differs", Message: head + ": " + part, Keys: []string{k.row}}, made: true, root: -1})
	d.groups[group] = idx
	return []int{idx}
}

func mentions(msg, name string) bool {
	for off := 0; ; {
		i := strings.Index(msg[off:], name)
		if i < 0 {
			return false
		}
		s, e := off+i, off+i+len(name)
		if (s == 0 || !isNameChar(msg[s-1])) && (e == len(msg) || !isNameChar(msg[e])) {
			return true
		}
		off = s + 1
	}
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func mentionsAny(msg string, names []string) bool {
	for _, n := range names {
		if mentions(msg, n) {
			return true
		}
	}
	return false
}

// checked says, for a symptom nothing explains, what was looked at and what would settle it.
func (d *Diagnosis) checked(p *contract.Probe, subject int) string {
	var secs []string
	for _, a := range d.list {
		if a.Path == nil || subject >= 0 && a.Unread != nil && a.Unread(d.c, subject) != "" {
			continue // not read: said below, with what would read it
		}
		if a.Place == contract.InPod || subject >= 0 && d.sectionIn(subject, a.Section) {
			secs = append(secs, a.Section)
		}
	}
	// What could not be read was not checked: it is named as such, with what reads it,
	// before any other hint (each hint that applies is given, not only the first).
	var unread, hints []string
	if subject >= 0 {
		unread = d.unread(subject, contract.InPod)
		if p != nil && p.Status[subject] == contract.FailRemote && !d.nodeRead(subject) {
			hints = append(hints, "its node's half was not read: rerun with --node-side")
		}
	}
	if p != nil && slices.Contains(p.Status, contract.Mixed) {
		hints = append(hints, "it fails only sometimes: rerun with a longer --window (e.g. 30s) to catch what changes")
	}
	msg := "no differing fact among what was read on its path (" + strings.Join(secs, ", ") + ")"
	return strings.Join(append(append([]string{msg}, unread...), hints...), "; ")
}
