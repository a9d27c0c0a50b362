package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/safe"
)

// ReportSection is the engine's own section: report metadata and which sections each
// report holds. No plugin may be called "report".
const ReportSection = "report"

// Options tune a comparison.
type Options struct {
	// Rules, when set, picks which registered rules run (by name); nil runs them all.
	Rules func(name string) bool
}

// Result is a finished comparison. Rows holds every row, equal or not, sorted by section
// and key; renderers decide what to show.
type Result struct {
	Subjects []string  `json:"subjects"`
	Findings []Finding `json:"findings"`
	Rows     []Row     `json:"rows"`
	// Diagnosis is the graph the findings came from (nil for a Result built by hand):
	// -o html draws each failing probe's path from it.
	Diagnosis *diagnosis.Diagnosis `json:"-"`
}

// Differs reports whether the subjects differ: any unequal row, or any finding of
// severity Low or above that names no row. A finding whose rows are all equal describes
// what the subjects share (one network namespace, a tentative address in both): it is
// printed, but it is not a difference. Differs decides the exit status.
func (r *Result) Differs() bool {
	for _, row := range r.Rows {
		if !row.Equal {
			return true
		}
	}
	for _, f := range r.Findings {
		if f.Severity >= Low && len(f.Keys) == 0 {
			return true
		}
	}
	return false
}

// Compare lines up the facts of two or more reports, normalises each subject's identity
// away, and runs the finding rules. subjects are display names, aligned with reports.
// It is CompareContext without a deadline.
func Compare(subjects []string, reports []*report.Report, opts Options) (*Result, error) {
	return CompareContext(context.Background(), subjects, reports, opts)
}

// CompareContext is Compare that gives up once ctx is done: it looks at ctx between
// sections and rules and every few thousand facts and rows, and then returns ctx.Err()
// itself (errors.Is(err, context.Canceled) holds). One plugin reading one section's
// facts is not interrupted.
func CompareContext(ctx context.Context, subjects []string, reports []*report.Report, opts Options) (*Result, error) {
	var named []namedRule
	for _, nr := range registeredNamedRules() {
		if opts.Rules == nil || opts.Rules(nr.Name) {
			named = append(named, nr)
		}
	}
	return compare(ctx, subjects, reports, named)
}

// checkEvery is how many facts or rows the engine handles between two looks at the
// context: a few hundred microseconds of work.
const checkEvery = 4096

func compare(ctx context.Context, subjects []string, reports []*report.Report, rules []namedRule) (*Result, error) {
	if len(subjects) < 2 {
		return nil, fmt.Errorf("compare: need at least 2 subjects, got %d", len(subjects))
	}
	if len(subjects) != len(reports) {
		return nil, fmt.Errorf("compare: %d subjects but %d reports", len(subjects), len(reports))
	}
	seen := map[string]bool{}
	for i, s := range subjects {
		if s == "" {
			return nil, fmt.Errorf("compare: subject %d has no name", i+1)
		}
		if seen[s] {
			return nil, fmt.Errorf("compare: subject %q given twice: give each report a distinct display name", s)
		}
		seen[s] = true
		if reports[i] == nil {
			return nil, fmt.Errorf("compare: subject %q has no report", s)
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var notes []Finding
	ids := make([]Identity, len(reports))
	for i, r := range reports {
		id, errs := identityOf(r)
		ids[i] = id
		for _, err := range errs {
			notes = append(notes, Finding{Severity: Info, Rule: "diff/identity",
				Message: fmt.Sprintf("%s: %v; its own addresses may show up as differences", subjects[i], err)})
		}
	}

	// Reading and normalising facts is most of the work and independent per subject.
	sections := sectionUnion(reports)
	per := make([]subjectFacts, len(reports))
	var wg sync.WaitGroup
	for i := range reports {
		wg.Go(func() { per[i] = collectFacts(ctx, subjects, ids, reports, sections, i) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := newBuilder(len(reports))
	for i, sf := range per {
		notes = append(notes, sf.notes...)
		for _, s := range sf.sections {
			if err := b.add(ctx, i, s.name, s.facts); err != nil {
				return nil, err
			}
		}
	}

	c := &Comparison{Subjects: subjects, Reports: reports, Identities: ids,
		Normalise: NormaliseFunc(subjects, ids)}
	var err error
	if c.Rows, err = b.rows(ctx, subjects); err != nil {
		return nil, err
	}
	fs, err := runRules(ctx, c, rules)
	if err != nil {
		return nil, err
	}
	findings := sortFindings(append(notes, fs...))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := diagnosis.Build(c, findings)
	findings = d.Findings()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Result{Subjects: subjects, Findings: findings, Rows: c.Rows, Diagnosis: d}, nil
}

type subjectFacts struct {
	sections []namedFacts
	notes    []Finding
}

type namedFacts struct {
	name  string
	facts []probe.Fact
}

// collectFacts reads subject i's facts, section by section, already normalised. Once
// ctx is done it stops early; the caller looks at ctx.
func collectFacts(ctx context.Context, subjects []string, ids []Identity, reports []*report.Report, sections []string, i int) subjectFacts {
	r := reports[i]
	norm := NewNormaliser(subjects, ids, i)
	normalise := func(fs []probe.Fact) []probe.Fact {
		for k := range fs {
			if k%checkEvery == 0 && ctx.Err() != nil {
				return nil
			}
			fs[k].Key, fs[k].Value = norm.Normalise(fs[k].Key), norm.Normalise(fs[k].Value)
		}
		return fs
	}
	var out subjectFacts
	out.sections = append(out.sections, namedFacts{ReportSection, normalise(reportFacts(r, sections))})
	size := 0
	for _, raw := range r.Sections {
		size += len(raw)
	}
	budget := newGenericBudget(size) // shared by the report's generic sections (generic.go)
	for _, name := range sortedKeys(r.Sections) {
		raw := r.Sections[name]
		if absent(raw) {
			continue
		}
		if ctx.Err() != nil {
			return out
		}
		facts, err := sectionFacts(name, raw, budget)
		if err != nil {
			out.notes = append(out.notes, Finding{Severity: Info, Rule: "diff/facts",
				Message: fmt.Sprintf("%s: section %s could not be read by its plugin (%v); it is compared as plain JSON", subjects[i], name, err),
				Keys:    []string{ReportSection + "/section/" + name}})
		}
		out.sections = append(out.sections, namedFacts{name, normalise(facts)})
	}
	return out
}

// identityOf gathers one subject's identity from the report and every Identifier plugin.
func identityOf(r *report.Report) (Identity, []error) {
	var id Identity
	var errs []error
	id.Hostname = r.Hostname
	if r.Subject != nil {
		id.Node = r.Subject.Node
		id.IPs = append(id.IPs, r.Subject.IPs...)
		if r.Subject.Pod != "" && r.Subject.Pod != r.Hostname {
			id.Names = append(id.Names, r.Subject.Pod)
		}
	}
	for _, name := range sortedKeys(r.Sections) {
		raw := r.Sections[name]
		if absent(raw) {
			continue
		}
		p, ok := probe.Lookup(name)
		if !ok {
			continue
		}
		idf, ok := p.(probe.Identifier)
		if !ok {
			continue
		}
		pid, err := safeIdentity(idf, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("identity from section %s: %w", name, err))
			continue
		}
		id.IPs = append(id.IPs, pid.IPs...)
		id.MACs = append(id.MACs, pid.MACs...)
		id.Names = append(id.Names, pid.Names...)
		id.Gateways = append(id.Gateways, pid.Gateways...)
		id.NodeNets = append(id.NodeNets, ownNets(pid.NodeNets, r.Subject)...)
	}
	return id, errs
}

// ownNets keeps the prefixes that hold one of the subject's own pod IPs (the API's
// podIPs): a second interface's subnet (Multus) is not its node's pod range. Without
// the API's IPs (a report read offline from a netns) none is kept.
func ownNets(nets []string, s *report.Subject) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, n := range nets {
		p, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil {
			continue
		}
		for _, ip := range s.IPs {
			if a, err := netip.ParseAddr(ip); err == nil && p.Contains(a.Unmap()) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

func safeIdentity(idf probe.Identifier, raw json.RawMessage) (probe.SelfValues, error) {
	return safe.Call(func() (probe.SelfValues, error) { return idf.Identity(raw) })
}

// sectionFacts asks the section's plugin for its facts, falling back to flattening the
// JSON (within budget), so a report from a newer prober (or a plugin that fails) still
// diffs.
func sectionFacts(name string, raw json.RawMessage, budget *genericBudget) ([]probe.Fact, error) {
	p, ok := probe.Lookup(name)
	if !ok {
		return genericFactsBudget(raw, budget)
	}
	facts, err := safeFacts(p, raw)
	if err == nil {
		return facts, nil
	}
	g, gerr := genericFactsBudget(raw, budget)
	if gerr != nil {
		return nil, errors.Join(err, gerr)
	}
	return g, err
}

func safeFacts(p probe.Plugin, raw json.RawMessage) ([]probe.Fact, error) {
	return safe.Call(func() ([]probe.Fact, error) { return p.Facts(raw) })
}

func absent(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw) // no string(raw): sections run to megabytes
	return len(s) == 0 || string(s) == "null"
}

// sectionUnion lists every section any report has or failed to collect.
func sectionUnion(reports []*report.Report) []string {
	set := map[string]bool{}
	for _, r := range reports {
		for name, raw := range r.Sections {
			if !absent(raw) {
				set[name] = true
			}
		}
		for _, p := range r.Problems {
			set[p.Section] = true
		}
	}
	return sortedKeys(set)
}

// Section states in the report section's "section/NAME" rows.
const (
	SectionOK     = "ok"
	SectionAbsent = "absent"
	SectionFailed = "failed: " // followed by the errno name or message
)

// reportFacts are the engine's facts about a report as a whole.
func reportFacts(r *report.Report, sections []string) []probe.Fact {
	facts := []probe.Fact{
		{Key: "proberVersion", Value: r.ProberVersion, Kind: probe.ShowOnly},
		{Key: "schemaVersion", Value: r.SchemaVersion, Kind: probe.ShowOnly},
		{Key: "hostname", Value: r.Hostname, Kind: probe.ShowOnly},
		{Key: "pid", Value: strconv.Itoa(r.PID), Kind: probe.ShowOnly},
		{Key: "durationMs", Value: strconv.FormatInt(r.DurationMS, 10), Kind: probe.ShowOnly},
	}
	// Newer report fields, only where set, so older reports keep their rows.
	if r.CPUMS > 0 {
		facts = append(facts, probe.Fact{Key: "cpuMs", Value: strconv.FormatInt(r.CPUMS, 10), Kind: probe.ShowOnly})
	}
	if r.Via != "" {
		facts = append(facts, probe.Fact{Key: "via", Value: r.Via, Kind: probe.ShowOnly})
	}
	if len(r.Targets) > 0 {
		ts := append([]string{}, r.Targets...)
		sort.Strings(ts)
		facts = append(facts, probe.Fact{Key: "targets", Value: strings.Join(ts, " "), Kind: probe.ShowOnly})
	}
	if !r.Time.IsZero() {
		facts = append(facts, probe.Fact{Key: "time", Value: r.Time.UTC().Format("2006-01-02T15:04:05Z"), Kind: probe.ShowOnly})
	}
	if s := r.Subject; s != nil {
		for k, v := range map[string]string{"node": s.Node, "container": s.Container} {
			if v != "" {
				facts = append(facts, probe.Fact{Key: "subject/" + k, Value: v, Kind: probe.ShowOnly})
			}
		}
	}
	failed := map[string]string{}
	for _, p := range r.Problems {
		failed[p.Section] = p.Error.Name()
		if failed[p.Section] == "" {
			failed[p.Section] = "no error recorded"
		}
	}
	for _, name := range sections {
		v := SectionAbsent
		if msg, ok := failed[name]; ok {
			v = SectionFailed + msg
		} else if !absent(r.Sections[name]) {
			v = SectionOK
		}
		facts = append(facts, probe.Fact{Key: "section/" + name, Value: v})
	}
	return facts
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// builder lines facts up by section and key. Cells live in flat slabs (n values per
// cell) so that a 100,000-route table costs a few allocations, not a few per route.
type builder struct {
	n        int
	sections map[string]map[string]int // section -> key -> cell index
	values   []string                  // cell c's values are values[c*n : c*n+n]
	present  []bool
	kinds    []probe.FactKind
}

func newBuilder(n int) *builder { return &builder{n: n, sections: map[string]map[string]int{}} }

func (b *builder) add(ctx context.Context, i int, section string, facts []probe.Fact) error {
	keys := b.sections[section]
	if keys == nil {
		keys = make(map[string]int, len(facts))
		b.sections[section] = keys
		// Room for this section's cells: the first subject's facts make most of them.
		b.kinds = slices.Grow(b.kinds, len(facts))
		b.values = slices.Grow(b.values, len(facts)*b.n)
		b.present = slices.Grow(b.present, len(facts)*b.n)
	}
	for n, f := range facts {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c, ok := keys[f.Key]
		if !ok {
			c = len(b.kinds)
			keys[f.Key] = c
			b.kinds = append(b.kinds, f.Kind)
			b.values = append(b.values, make([]string, b.n)...)
			b.present = append(b.present, make([]bool, b.n)...)
		}
		at := c*b.n + i
		if b.present[at] {
			// Two facts of one subject collapsed onto one key (its two IPs both became
			// <self>): keep both values, as a sorted set.
			b.values[at] = mergeValues(b.values[at], f.Value)
			continue
		}
		b.values[at], b.present[at] = f.Value, true
	}
	return nil
}

// mergeSep joins the values of facts that normalisation collapsed onto one key.
const mergeSep = " | "

func mergeValues(a, b string) string {
	set := map[string]bool{b: true}
	for _, v := range strings.Split(a, mergeSep) {
		set[v] = true
	}
	return strings.Join(sortedKeys(set), mergeSep)
}

func (b *builder) rows(ctx context.Context, subjects []string) ([]Row, error) {
	markers := make([][]string, len(subjects))
	for j := range subjects {
		markers[j] = peerMarkers(subjects, j)
	}
	missing := make([]bool, len(b.present))
	for k, p := range b.present {
		missing[k] = !p
	}
	rows := make([]Row, 0, len(b.kinds))
	for _, section := range sortedKeys(b.sections) {
		keys := b.sections[section]
		for _, k := range sortedKeys(keys) {
			if len(rows)%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			c := keys[k]
			lo, hi := c*b.n, c*b.n+b.n
			row := Row{Section: section, Key: k, Values: b.values[lo:hi:hi], Kind: b.kinds[c], Missing: missing[lo:hi:hi]}
			for j := range row.Values {
				if row.Missing[j] {
					row.Values[j] = contract.Absent
				}
			}
			row.Equal = equal(row, expectedMissing(k, markers))
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// expectedMissing marks subjects the key is about as a peer ("<peer:b>"): b cannot have
// a fact about reaching itself as a peer.
func expectedMissing(key string, markers [][]string) []bool {
	if !strings.Contains(key, "<peer") {
		return nil
	}
	var out []bool
	for j, ms := range markers {
		for _, m := range ms {
			if strings.Contains(key, m) {
				if out == nil {
					out = make([]bool, len(markers))
				}
				out[j] = true
			}
		}
	}
	return out
}

// equal decides a row: Info never differs, Counter compares whether it moved, Exact
// compares values; a fact missing in some subjects (and present in others) differs.
func equal(r Row, skip []bool) bool {
	if r.Kind == probe.ShowOnly {
		return true
	}
	first, have := "", false
	for j, v := range r.Values {
		if skip != nil && skip[j] && r.Missing[j] {
			continue
		}
		var cmp string
		switch {
		case r.Missing[j]:
			cmp = "\x00missing"
		case r.Kind == probe.Counter:
			cmp = strconv.FormatBool(moved(v))
		default:
			cmp = v
		}
		if !have {
			first, have = cmp, true
		} else if cmp != first {
			return false
		}
	}
	return true
}

// moved reports whether a counter delta is non-zero.
func moved(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f != 0
	}
	return true
}
