package dns

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

type cell struct {
	subject int
	q       Query
}

func byKey(c *contract.Comparison) ([]string, map[string][]cell, []*Section) {
	m := map[string][]cell{}
	secs := contract.DecodeSections(c, Name, Decode)
	for i, s := range secs {
		if s == nil {
			continue
		}
		for _, q := range s.Queries {
			m[q.Key()] = append(m[q.Key()], cell{i, q})
		}
	}
	keys := slices.Sorted(maps.Keys(m))
	return keys, m, secs
}

// ruleLookupFails: the resolver's walk through the search list finds no address for a
// name in X and does in Y; it says which candidates X tried, with each one's answer, and
// which candidate answered in Y.
func ruleLookupFails(c *contract.Comparison) []contract.Finding {
	secs := contract.DecodeSections(c, Name, Decode)
	type got struct {
		subject int
		l       Lookup
	}
	byName := map[string][]got{}
	var names []string
	for i, s := range secs {
		if s == nil {
			continue
		}
		for _, l := range s.Lookups {
			if byName[l.Name] == nil {
				names = append(names, l.Name)
			}
			byName[l.Name] = append(byName[l.Name], got{i, l})
		}
	}
	slices.Sort(names)
	var out []contract.Finding
	for _, n := range names {
		var ok []string
		for _, g := range byName[n] {
			if g.l.AnsweredBy != "" {
				ok = append(ok, fmt.Sprintf("%s's answers as %s", c.Subjects[g.subject], g.l.AnsweredBy))
			}
		}
		if len(ok) == 0 {
			continue
		}
		for _, g := range byName[n] {
			if g.l.AnsweredBy != "" {
				continue
			}
			var tried []string
			for _, t := range g.l.Tried {
				tried = append(tried, t.Name+" "+t.Result())
			}
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message: fmt.Sprintf("%s: the resolver's lookup of %s through the search list finds no address (%s); %s",
					c.Subjects[g.subject], n, g.l.Outcome, strings.Join(ok, "; ")),
				Detail: fmt.Sprintf("tried in order (ndots:%d): %s", g.l.Ndots, strings.Join(tried, ", ")),
				Keys:   []string{rowID("lookup/" + n)},
			})
		}
	}
	return out
}

func rowID(k string) string { return Name + "/" + k }

// ruleFailsHereWorksThere: a query gets no answer at all (timeout, refused port) in X and
// an answer in Y, e.g. DNS over UDP timing out in one pod only.
func ruleFailsHereWorksThere(c *contract.Comparison) []contract.Finding {
	keys, m, secs := byKey(c)
	var out []contract.Finding
	for _, k := range keys {
		var ok []string
		for _, x := range m[k] {
			if x.q.Error == nil {
				ok = append(ok, c.Subjects[x.subject])
			}
		}
		if len(ok) == 0 {
			continue
		}
		for _, x := range m[k] {
			if x.q.Error == nil {
				continue
			}
			hint := ""
			if x.q.Transport == "udp" && otherTransportWorks(secs[x.subject], x.q) {
				hint = "; TCP to the same server works here, so UDP is dropped on the way (netfilter, conntrack, a UDP-only policy)"
			}
			what := "times out"
			if !isTimeout(x.q.Error) {
				what = "fails with " + x.q.Error.Name()
			}
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message: fmt.Sprintf("%s: DNS over %s to %s (%s) for %s %s %s but is answered in %s%s",
					c.Subjects[x.subject], strings.ToUpper(x.q.Transport), x.q.Server, x.q.ServerKey, x.q.Name, x.q.Type, what, strings.Join(ok, ", "), hint),
				Keys: []string{rowID(k)},
			})
		}
	}
	return out
}

func otherTransportWorks(s *Section, q Query) bool {
	if s == nil {
		return false
	}
	for _, o := range s.Queries {
		if o.ServerKey == q.ServerKey && o.Name == q.Name && o.Type == q.Type && o.Transport != q.Transport && o.Error == nil {
			return true
		}
	}
	return false
}

func group(c *contract.Comparison, cells []cell, value func(Query) string) (string, int) {
	g := map[string][]string{}
	for _, x := range cells {
		if x.q.Error != nil {
			continue
		}
		v := value(x.q)
		g[v] = append(g[v], c.Subjects[x.subject])
	}
	return contract.Grouped(g), len(g)
}

// ruleRCodeDiffers: both answered, with different rcodes (NXDOMAIN here, NOERROR there:
// different search domains, a different server, a stub resolver in the way).
func ruleRCodeDiffers(c *contract.Comparison) []contract.Finding {
	keys, m, _ := byKey(c)
	var out []contract.Finding
	for _, k := range keys {
		if desc, n := group(c, m[k], func(q Query) string { return q.RCode }); n > 1 {
			out = append(out, contract.Finding{Severity: contract.High,
				Message: fmt.Sprintf("DNS %s: the answer code differs: %s", k, desc), Keys: []string{rowID(k)}})
		}
	}
	return out
}

// ruleAnswersDiffer: same rcode, different records.
func ruleAnswersDiffer(c *contract.Comparison) []contract.Finding {
	keys, m, _ := byKey(c)
	var out []contract.Finding
	for _, k := range keys {
		rcodes := map[string]bool{}
		for _, x := range m[k] {
			if x.q.Error == nil {
				rcodes[x.q.RCode] = true
			}
		}
		if len(rcodes) != 1 {
			continue
		}
		if desc, n := group(c, m[k], func(q Query) string {
			if len(q.Answers) == 0 {
				return "(none)"
			}
			return strings.Join(q.Answers, ", ")
		}); n > 1 {
			out = append(out, contract.Finding{Severity: contract.Medium,
				Message: fmt.Sprintf("DNS %s: the answers differ: %s", k, desc), Keys: []string{rowID(k)}})
		}
	}
	return out
}
