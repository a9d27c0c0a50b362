package diff

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// diagnose turns the rules' flat findings into a diagnosis (DIAGNOSIS.md): it follows
// every probe that fails in one subject and works (or fails less) in another along its
// path, finds the differing state rows there, and links the symptom findings to the cause
// findings that name those rows, creating a cause for a differing row that no rule named.
// A probe of a peer that cannot answer is explained by the peer's causes. The result is
// ranked: causes first (severity, then how much each explains), then unexplained
// symptoms, then context, then the explained symptoms.
func diagnose(c *Comparison, fs []Finding) []Finding {
	list := registeredAnalyses()
	as := map[string]Analysis{}
	for _, a := range list {
		as[a.Section] = a
	}
	d := &diagnosis{c: c, as: as, list: list, byCauseKey: map[causeKey]int{}}
	for _, f := range fs {
		if f.Kind == "" {
			f.Kind = kindOf(f, as)
		}
		d.fs = append(d.fs, f)
	}
	probes := d.probes()
	// Probes with an address first, so counters can join the causes those found.
	links := map[symptomKey][]int{}
	for _, p := range probes {
		if len(p.Domains) > 0 {
			continue
		}
		for _, i := range p.Failing() {
			if cs := d.explain(p, i); len(cs) > 0 || d.mustShow(p, i) {
				links[symptomKey{p.Row, i}] = cs
			}
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
			if len(cs) == 0 && !worseSomewhere(probes, i) {
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
	d.link(links, probes)
	d.preferChanging()
	return d.rank()
}

// worseSomewhere reports whether subject i does worse than another subject on any probe.
func worseSomewhere(probes []*Probe, i int) bool {
	for _, p := range probes {
		if len(p.Domains) == 0 && len(p.Better(i)) > 0 {
			return true
		}
	}
	return false
}

// watchedBy maps the state sections whose facts the netlink watch follows to the kind of
// change it reports for them.
var watchedBy = map[string][]string{"routes": {"route"}, "rules": {"rule"}, "interfaces": {"link", "address"}, "neighbours": {"neighbour"}}

// preferChanging folds a snapshot's cause into the cause that says the same fact kept
// changing: a route the final snapshot caught absent while the watch saw it deleted and
// re-added many times is one cause, the flap, whose every symptom the snapshot's explains.
func (d *diagnosis) preferChanging() {
	for c := range d.fs {
		fc := d.fs[c]
		if fc.Kind != Cause || !strings.HasPrefix(fc.Rule, "events/") || len(fc.Explains) == 0 || d.dropped[c] {
			continue
		}
		kinds := map[string]bool{}
		for _, k := range fc.Keys {
			if kind, _, ok := strings.Cut(strings.TrimPrefix(k, "events/"), "/"); ok {
				kinds[kind] = true
			}
		}
		for s := range d.fs {
			fs := d.fs[s]
			sec, _, _ := strings.Cut(fs.Rule, "/")
			if s == c || fs.Kind != Cause || fs.Subject != fc.Subject || len(fs.Explains) == 0 || d.dropped[s] ||
				!watchedKind(sec, kinds) || !subset(fs.Explains, fc.Explains) {
				continue
			}
			d.fs[c].Keys = append(d.fs[c].Keys, fs.Keys...)
			d.fs[c].Message += "; when the report was taken: " + fs.Message
			for _, sym := range fs.Explains {
				n, _ := strconv.Atoi(sym)
				d.fs[n].ExplainedBy = slices.DeleteFunc(d.fs[n].ExplainedBy, func(id string) bool { return id == itoa(s) })
			}
			if d.dropped == nil {
				d.dropped = map[int]bool{}
			}
			d.dropped[s] = true
		}
	}
}

func watchedKind(section string, kinds map[string]bool) bool {
	for _, k := range watchedBy[section] {
		if kinds[k] {
			return true
		}
	}
	return false
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

type symptomKey struct {
	row     string
	subject int
}

// causeKey is a differing row blamed in one subject.
type causeKey struct {
	row     string
	subject int
}

type diagnosis struct {
	c          *Comparison
	as         map[string]Analysis
	list       []Analysis // the same, sorted by section
	fs         []Finding
	byCauseKey map[causeKey]int // a blamed row -> the cause finding naming it
	generic    map[int]bool     // findings the diagnosis made itself
	dropped    map[int]bool     // made causes folded into a rule's cause of the same section
	groups     map[string]int   // made symptoms by subject, section and target
}

func kindOf(f Finding, as map[string]Analysis) Kind {
	if f.Severity == Info {
		return Context
	}
	switch roleOf(f.Rule, as) {
	case Outcome:
		return Symptom
	case Background:
		return Context
	}
	return Cause
}

// probes reads every differing outcome row as a probe, annotated by every section.
func (d *diagnosis) probes() []*Probe {
	var out []*Probe
	for _, a := range d.list {
		if a.Role != Outcome || a.Probes == nil {
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

func (d *diagnosis) annotate(p *Probe) {
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
		p.Route = make([]RouteAnswer, n)
	}
	for _, a := range d.list {
		if a.Annotate != nil {
			a.Annotate(d.c, p)
		}
	}
}

// mustShow: a failing probe nothing explains is still a symptom when another subject
// does better, or when it probes a peer.
func (d *diagnosis) mustShow(p *Probe, i int) bool {
	return len(p.Better(i)) > 0 || p.Peer(d.c, i) >= 0
}

// explain returns the cause findings for probe p failing in subject i: differing rows on
// its path in i (against a subject that does better); else, for a probe of a peer, rows
// on the way back in the peer; else a cause inferred from evidence.
func (d *diagnosis) explain(p *Probe, i int) []int {
	better := p.Better(i)
	if len(better) > 0 {
		if cs := d.onPath(p, i, better); len(cs) > 0 {
			return cs
		}
	}
	if j := p.Peer(d.c, i); j >= 0 {
		back := d.reverse(p, i, j)
		var others []int
		for k := range d.c.Subjects {
			if k != j {
				others = append(others, k)
			}
		}
		if cs := d.onPath(back, j, others); len(cs) > 0 {
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
func (d *diagnosis) reverse(p *Probe, i, j int) *Probe {
	back := *p
	back.Target = strings.Replace(p.Target, peerPlaceholder(PeerIP, d.c.Subjects, j), peerPlaceholder(PeerIP, d.c.Subjects, i), 1)
	back.Addr, back.Route = nil, nil
	// The replies are the peer kernel's (its listening socket's), not sent as anyone's app.
	back.AsApp, back.UIDs = false, nil
	if back.Target != p.Target || len(d.c.Subjects) != 2 {
		back.Row = ""
	}
	d.annotate(&back)
	return &back
}

// onPath finds the differing rows on p's path in subject i where i's value is not that
// of any subject in against, and returns their cause findings (made where no rule named
// the row). Among the rows of one section, the path functions already put the route the
// kernel would use first; all differing ones are causes.
func (d *diagnosis) onPath(p *Probe, i int, against []int) []int {
	var out []int
	for _, a := range d.list {
		if a.Path == nil {
			continue
		}
		for _, key := range a.Path(d.c, p, i) {
			r, ok := d.c.Row(a.Section, key)
			if !ok || r.Equal || !deviates(r, i, against) {
				continue
			}
			out = append(out, d.causeFor(a, r, i, against[0]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// deviates reports whether subject i's value of r differs from every value in against.
func deviates(r Row, i int, against []int) bool {
	for _, j := range against {
		if r.Present(i) == r.Present(j) && r.Values[i] == r.Values[j] {
			return false
		}
	}
	return true
}

// causeFor returns the finding that names row r as a cause in subject i: a rule's
// cause finding resting on that row, or one made here.
func (d *diagnosis) causeFor(a Analysis, r Row, i, j int) int {
	k := causeKey{r.ID(), i}
	if idx, ok := d.byCauseKey[k]; ok {
		return idx
	}
	// A rule's cause first; else context that explains (a namespace still settling
	// during the window). Context that only lists the row among others (diff/odd-one-out
	// with three or more subjects) must not take the place of the rule that names it.
	for _, kind := range []Kind{Cause, Context} {
		for idx, f := range d.fs {
			if f.Kind == kind && slices.Contains(f.Keys, r.ID()) && (f.Subject == "" || f.Subject == d.c.Subjects[i]) {
				d.fs[idx].Subject = d.c.Subjects[i]
				d.byCauseKey[k] = idx
				return idx
			}
		}
	}
	msg := ""
	if a.Describe != nil {
		msg = a.Describe(d.c, r, i, j)
	}
	if msg == "" {
		msg = DescribeRow(d.c, r, i, j)
	}
	d.fs = append(d.fs, Finding{Kind: Cause, Severity: Medium, Subject: d.c.Subjects[i],
		Rule: a.Section + "/differs-on-path", Message: msg, Keys: []string{r.ID()}})
	idx := len(d.fs) - 1
	if d.generic == nil {
		d.generic = map[int]bool{}
	}
	d.generic[idx] = true
	d.byCauseKey[k] = idx
	return idx
}

// DescribeRow is the generic wording of a differing row as a cause in subject i:
// "web-b has no routes ipv4/main/unicast/default (web-a: via 10.0.0.1 dev eth0)".
func DescribeRow(c *Comparison, r Row, i, j int) string {
	what := r.Section + " " + r.Key
	switch {
	case !r.Present(i):
		return fmt.Sprintf("%s has no %s (%s: %s)", c.Subjects[i], what, c.Subjects[j], r.Values[j])
	case !r.Present(j):
		return fmt.Sprintf("only %s has %s: %s", c.Subjects[i], what, r.Values[i])
	}
	return fmt.Sprintf("%s has %s %s (%s: %s)", c.Subjects[i], what, r.Values[i], c.Subjects[j], r.Values[j])
}

func (d *diagnosis) addInferred(f Finding, i int) int {
	f.Kind, f.Subject = Cause, d.c.Subjects[i]
	for idx, g := range d.fs {
		if g.Rule == f.Rule && g.Subject == f.Subject && g.Message == f.Message {
			return idx
		}
	}
	d.fs = append(d.fs, f)
	return len(d.fs) - 1
}

// subjectCauses are the causes already found for subject i's probes (its own, or a
// peer's that explain them), limited to the given sections.
func (d *diagnosis) subjectCauses(links map[symptomKey][]int, i int, domains []string) []int {
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

// link makes every (probe row, subject) a symptom finding, the rules' own where one rests
// on that row, else one made here, and ties symptoms and causes both ways.
func (d *diagnosis) link(links map[symptomKey][]int, probes []*Probe) {
	byRow := map[string]*Probe{}
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
	for _, k := range keys {
		syms := d.symptomsOf(k, byRow[k.row])
		for _, s := range syms {
			explainedBy[s] = append(explainedBy[s], links[k]...)
		}
	}
	d.fold(explainedBy)
	for s, cs := range explainedBy {
		slices.Sort(cs)
		explainedBy[s] = slices.Compact(cs)
	}
	for s, cs := range explainedBy {
		for _, c := range cs {
			if peer := d.fs[c].Subject; peer != "" && d.fs[s].Subject != "" && peer != d.fs[s].Subject &&
				!strings.Contains(d.fs[s].Message, "the cause is in "+peer) {
				// Across subjects: the healthy side's probe of a peer that cannot answer.
				d.fs[s].Message += "; the cause is in " + peer
			}
			d.fs[s].ExplainedBy = append(d.fs[s].ExplainedBy, itoa(c))
			d.fs[c].Explains = append(d.fs[c].Explains, itoa(s))
			if d.fs[s].Severity > d.fs[c].Severity {
				d.fs[c].Severity = d.fs[s].Severity
			}
		}
		if len(cs) == 0 {
			d.fs[s].Checked = d.checked(byRowOf(byRow, d.fs[s].Keys), d.fs[s].Subject)
		}
	}
}

// fold merges a cause the diagnosis made (a differing row no rule named) into a rule's
// cause of the same section and subject that explains symptoms too: one subject's routes
// that are missing are one cause, named by the rule, with the other rows as evidence.
func (d *diagnosis) fold(explainedBy map[int][]int) {
	linked := map[int]bool{}
	for _, cs := range explainedBy {
		for _, c := range cs {
			linked[c] = true
		}
	}
	into := map[int]int{}
	for g := range d.generic {
		if !linked[g] {
			continue
		}
		gs, _, _ := strings.Cut(d.fs[g].Rule, "/")
		for r := range d.fs {
			rs, _, _ := strings.Cut(d.fs[r].Rule, "/")
			if !d.generic[r] && linked[r] && d.fs[r].Kind == Cause && rs == gs && d.fs[r].Subject == d.fs[g].Subject {
				into[g] = r
				break
			}
		}
	}
	if len(into) == 0 {
		return
	}
	d.dropped = map[int]bool{}
	for _, g := range sortedInts(into) {
		r := into[g]
		d.fs[r].Keys = append(d.fs[r].Keys, d.fs[g].Keys...)
		d.fs[r].Message += "; also, " + d.fs[g].Message
		d.dropped[g] = true
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

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func byRowOf(byRow map[string]*Probe, keys []string) *Probe {
	for _, k := range keys {
		if p, ok := byRow[k]; ok {
			return p
		}
	}
	return nil
}

// itoa is a finding's index held in the link fields until rank gives out the IDs.
func itoa(i int) string { return fmt.Sprint(i) }

// symptomsOf returns the symptom findings resting on the probe's row for subject k, making
// one where no rule's symptom does.
func (d *diagnosis) symptomsOf(k symptomKey, p *Probe) []int {
	var out []int
	name := d.c.Subjects[k.subject]
	for idx, f := range d.fs {
		if f.Kind != Symptom || !slices.Contains(f.Keys, k.row) {
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
			d.fs[idx].Subject = name
		}
		out = append(out, idx)
	}
	if len(out) > 0 {
		return out
	}
	if p == nil {
		return nil
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
		d.fs[idx].Message += "; " + part
		return []int{idx}
	}
	if d.groups == nil {
		d.groups = map[string]int{}
	}
	head := fmt.Sprintf("%s: %s %s", name, sec, p.Target)
	if p.AddrKey != "" {
		head += " (" + p.AddrKey + ")"
	}
	d.fs = append(d.fs, Finding{Kind: Symptom, Severity: Medium, Subject: name, Rule: sec + "/outcome-differs",
		Message: head + ": " + part, Keys: []string{k.row}})
	d.groups[group] = len(d.fs) - 1
	return []int{len(d.fs) - 1}
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

func mentionsAny(msg string, names []string) bool {
	for _, n := range names {
		if mentions(msg, n) {
			return true
		}
	}
	return false
}

// checked says, for a symptom nothing explains, what was looked at and what would settle it.
func (d *diagnosis) checked(p *Probe, subject string) string {
	var secs []string
	for _, a := range d.list {
		if a.Path != nil {
			secs = append(secs, a.Section)
		}
	}
	msg := "no differing fact on its path (" + strings.Join(secs, ", ") + ")"
	if p == nil {
		return msg
	}
	for _, s := range p.Status {
		if s == Mixed {
			return msg + "; it fails only sometimes: rerun with a longer --window (e.g. 30s) to catch what changes"
		}
	}
	if r, ok := d.c.Row("netfilter", "nft/error"); ok && slices.Contains(r.Values, "EPERM") {
		return msg + "; netfilter rules could not be read: rerun with --profile netadmin to see them"
	}
	return msg
}

// rank orders the findings and gives out IDs: causes that explain symptoms (severity,
// then how many each explains, rules' before the diagnosis's own), unexplained symptoms,
// causes that explain nothing seen, context, then the symptoms shown under their causes.
func (d *diagnosis) rank() []Finding {
	// A cause that explains nothing observed is still a difference in state, but the
	// causes that explain the failures come first, then what nothing explains.
	group := func(f Finding) int {
		switch {
		case f.Kind == Cause && len(f.Explains) > 0:
			return 0
		case f.Kind == Symptom && len(f.ExplainedBy) == 0:
			return 1
		case f.Kind == Cause:
			return 2
		case f.Kind == Context:
			return 3
		}
		return 4
	}
	order := make([]int, len(d.fs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := d.fs[order[x]], d.fs[order[y]]
		if ga, gb := group(a), group(b); ga != gb {
			return ga < gb
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if len(a.Explains) != len(b.Explains) {
			return len(a.Explains) > len(b.Explains)
		}
		if d.generic[order[x]] != d.generic[order[y]] {
			return !d.generic[order[x]]
		}
		return false // keep the rules' order (rule name, message)
	})
	order = slices.DeleteFunc(order, func(idx int) bool { return d.dropped[idx] })
	ids := make(map[string]string, len(order))
	for n, idx := range order {
		ids[itoa(idx)] = fmt.Sprintf("f%d", n+1)
	}
	out := make([]Finding, len(order))
	for n, idx := range order {
		f := d.fs[idx]
		f.ID = ids[itoa(idx)]
		f.Explains = mapIDs(f.Explains, ids)
		f.ExplainedBy = mapIDs(f.ExplainedBy, ids)
		f.Evidence = d.evidence(f.Keys)
		out[n] = f
	}
	return out
}

func mapIDs(in []string, ids map[string]string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, ids[s])
	}
	sort.Slice(out, func(a, b int) bool { return idNum(out[a]) < idNum(out[b]) })
	return slices.Compact(out)
}

func idNum(id string) int {
	var n int
	fmt.Sscanf(id, "f%d", &n)
	return n
}

func (d *diagnosis) evidence(keys []string) []Evidence {
	var out []Evidence
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
		out = append(out, Evidence{Row: k, Values: vals})
	}
	return out
}
