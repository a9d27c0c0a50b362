package diagnosis

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// outcome is one probe's result in one subject, read from its row's value ("ok 1/10,
// ECONNREFUSED 9/10 (immediate)").
type outcome struct {
	p            *contract.Probe
	ok, attempts int
	errno, stage string
	failed       int // attempts that failed with errno
}

func readOutcome(p *contract.Probe, i int) (outcome, bool) {
	if i >= len(p.Detail) {
		return outcome{}, false
	}
	o := outcome{p: p}
	v, _, _ := strings.Cut(p.Detail[i], ";") // an annotation follows (the kernel's drops)
	for _, part := range strings.Split(strings.TrimPrefix(v, "error "), ", ") {
		f := strings.Fields(part)
		if len(f) < 2 {
			if len(f) == 1 && o.errno == "" && strings.HasPrefix(f[0], "E") {
				o.errno = f[0]
			}
			continue
		}
		n, of, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		cnt, err1 := strconv.Atoi(n)
		tot, err2 := strconv.Atoi(of)
		if err1 != nil || err2 != nil {
			continue
		}
		o.attempts = tot
		switch {
		case f[0] == "ok" || f[0] == "reply":
			o.ok = cnt
		case o.errno == "":
			o.errno, o.failed = f[0], cnt
			if len(f) > 2 {
				o.stage = strings.Trim(f[2], "()")
			}
		}
	}
	return o, o.errno != "" || o.attempts > 0
}

// tally is how a target fared in one subject: its bursts and its attempts one at a time.
type tally struct {
	errno, stage       string
	hosts              []string // where, per host, once merged
	burstFail, burstN  int      // failed attempts and attempts in bursts
	burstSize          int
	seqFail, seqN      int
	ports              []int
	proto, host, where string
	targets            int
}

func (t *tally) add(o *tally) {
	t.targets += o.targets
	t.burstFail += o.burstFail
	t.burstN += o.burstN
	t.seqFail += o.seqFail
	t.seqN += o.seqN
	t.burstSize = max(t.burstSize, o.burstSize)
}

// shape is what must be alike for targets to be worded together.
func (t *tally) shape() string {
	return fmt.Sprintf("%s|%s|%s|%t|%t|%t|%t", t.proto, t.errno, stageWords(t.stage, t.errno),
		t.burstFail > 0, t.burstFail == t.burstN, t.seqFail > 0, t.seqFail == t.seqN)
}

// kind is what must be alike for hosts to be worded together: the transport, the errno,
// when it came, and whether only bursts failed (the one shape whose words differ).
func (t *tally) kind() string {
	return fmt.Sprintf("%s|%s|%s|%t", t.proto, t.errno, stageWords(t.stage, t.errno), t.burstsOnly())
}

// burstsOnly: attempts in bursts failed, attempts one at a time all worked.
func (t *tally) burstsOnly() bool { return t.burstFail > 0 && t.seqFail == 0 && t.seqN > 0 }

// effect words what a cause did to this run's probes in subject i, from the outcomes of
// the probes it explains: which targets, which transport, how many of how many
// attempts, which errno, at once or after a timeout, and, where the same target worked
// one at a time but not in a burst, that. Targets of one host that fared alike are one
// phrase with their ports; targets that all failed alike are one phrase. The second
// result is what the counts say beyond the headline (bursts and one at a time apart),
// for the finding's detail.
func effect(c *contract.Comparison, probes []*contract.Probe, i int, limit int) (string, string) {
	limit = min(limit, maxEffect)
	byTarget := map[string]*tally{}
	var keys []string
	for _, p := range probes {
		if p.Proto == "" || i >= len(p.Status) {
			continue
		}
		o, ok := readOutcome(p, i)
		if !ok || o.attempts == 0 && o.errno == "" {
			continue
		}
		k := p.Proto + " " + p.Target
		t := byTarget[k]
		if t == nil {
			t = &tally{proto: p.Proto, host: target.Host(p.Target), targets: 1}
			if p.Port != 0 {
				t.ports = []int{p.Port}
			}
			byTarget[k] = t
			keys = append(keys, k)
		}
		if o.errno != "" && (t.errno == "" || o.failed > 0 && t.errno != o.errno && o.stage != "") {
			t.errno, t.stage = o.errno, o.stage
		}
		if p.Burst {
			t.burstFail += o.failed
			t.burstN += o.attempts
			t.burstSize = max(t.burstSize, o.attempts)
		} else {
			t.seqFail += o.failed
			t.seqN += o.attempts
		}
	}
	sort.Strings(keys)
	// Targets of one host that fared alike first, then hosts that fared alike.
	var hostGroups []*tally
	byShape := map[string]*tally{}
	for _, k := range keys {
		t := byTarget[k]
		if g, ok := byShape[t.host+"|"+t.shape()]; ok {
			g.ports = append(g.ports, t.ports...)
			g.add(t)
			continue
		}
		byShape[t.host+"|"+t.shape()] = t
		hostGroups = append(hostGroups, t)
	}
	var groups []*tally
	byShape = map[string]*tally{}
	for _, t := range hostGroups {
		w := t.host
		switch len(t.ports) {
		case 0:
		case 1:
			w = fmt.Sprintf("%s:%d", t.host, t.ports[0])
		default:
			var ps []string
			for _, p := range t.ports {
				ps = append(ps, strconv.Itoa(p))
			}
			w = fmt.Sprintf("%s (ports %s)", t.host, strings.Join(ps, ", "))
		}
		if g, ok := byShape[t.kind()]; ok {
			g.hosts = append(g.hosts, w)
			g.add(t)
			continue
		}
		t.hosts = []string{w}
		byShape[t.kind()] = t
		groups = append(groups, t)
	}
	// The group that lost most attempts speaks first.
	sort.SliceStable(groups, func(a, b int) bool {
		return groups[a].burstFail+groups[a].seqFail > groups[b].burstFail+groups[b].seqFail
	})
	for _, g := range groups {
		g.where = strings.Join(g.hosts, " and ")
		if len(g.hosts) > 2 || len(g.where) > maxWhere {
			g.where = contract.Count(g.targets, "target", "targets")
		}
	}
	// Everything failed alike, every attempt: one phrase for all targets.
	if len(groups) > 1 {
		all, fail, total := true, 0, 0
		protos := map[string]bool{}
		var names []string
		for _, g := range groups {
			if g.errno != groups[0].errno || g.burstFail != g.burstN || g.seqFail != g.seqN {
				all = false
			}
			fail += g.burstFail + g.seqFail
			total += g.burstN + g.seqN
			if !protos[g.proto] {
				protos[g.proto] = true
				names = append(names, strings.ToUpper(g.proto))
			}
		}
		if all && fail > 0 {
			return fmt.Sprintf("every %s probe of %s fails%s with %s", andList(names),
					contract.Count(len(keys), "target", "targets"), stageWords(groups[0].stage, groups[0].errno), groups[0].errno),
				fmt.Sprintf("%d of %d attempts", fail, total)
		}
	}
	var parts, more []string
	rest := 0
	for n, g := range groups {
		w, m := tallyWords(g)
		if m != "" {
			more = append(more, g.where+": "+m)
		}
		if n > 0 && (rest > 0 || len(strings.Join(parts, "; "))+len("; ")+len(w) > limit) {
			rest += g.targets
			continue
		}
		parts = append(parts, w)
	}
	if rest > 0 {
		// The groups past the limit are counted, in the headline where that fits.
		tail := fmt.Sprintf("%d more %s otherwise", rest, contract.Plural(rest, "target fails", "targets fail"))
		if len(strings.Join(parts, "; "))+len("; ")+len(tail) <= limit {
			parts = append(parts, tail)
		} else {
			more = append(more, tail)
		}
	}
	return strings.Join(parts, "; "), strings.Join(more, "; ")
}

// maxWhere is the longest list of targets a headline names; more are counted. maxEffect
// is the longest effect worded group by group (less where the cause's words leave less
// of contract.HeadlineBudget); the groups past it are counted.
const (
	maxWhere  = 30
	maxEffect = 100
)

// tallyWords: "TCP connects to 10.88.0.1:9090 fail at once with EHOSTUNREACH (12 of
// 12)", "in bursts of 10, 9 of 10 TCP connects to 10.0.0.2:8080 fail at once with
// ECONNREFUSED; one at a time they work", "TCP connects to … fail at once with
// ECONNREFUSED (25 of 26)" with, for the detail, "20 of 20 in bursts of 10, 5 of 6 one at
// a time".
func tallyWords(t *tally) (string, string) {
	what := strings.ToUpper(t.proto) + " " + map[string]string{"tcp": "connects", "udp": "queries", "icmp": "pings"}[t.proto]
	if t.errno == "" {
		return fmt.Sprintf("%s to %s differ", what, t.where), ""
	}
	how := stageWords(t.stage, t.errno) + " with " + t.errno
	if t.errno == "no-reply" {
		how = " without a reply"
	}
	fail, total := t.burstFail+t.seqFail, t.burstN+t.seqN
	var more string
	switch {
	case t.burstsOnly():
		return fmt.Sprintf("in bursts of %d, %d of %d %s to %s fail%s; one at a time they work", t.burstSize, t.burstFail, t.burstN, what, t.where, how), ""
	case t.burstFail > 0 && t.seqN > 0 && fail < total:
		more = fmt.Sprintf("%d of %d in bursts of %d, %d of %d one at a time", t.burstFail, t.burstN, t.burstSize, t.seqFail, t.seqN)
	}
	if fail < total && more == "" {
		return fmt.Sprintf("%d of %d %s to %s fail%s", fail, total, what, t.where, how), ""
	}
	if fail == total {
		one := strings.TrimSuffix(what, "s")
		if t.proto == "udp" {
			one = "UDP query"
		}
		return fmt.Sprintf("every %s to %s fails%s", one, t.where, how), fmt.Sprintf("%d of %d attempts", fail, total)
	}
	return fmt.Sprintf("%s to %s fail%s (%d of %d)", what, t.where, how, fail, total), more
}

// stageWords: at once (the kernel refused before a packet left, or the reply came at
// once) or after a timeout.
func stageWords(stage, errno string) string {
	switch {
	case stage == "timeout" || errno == "ETIMEDOUT":
		return " after a timeout"
	case stage == "immediate" || stage == "poll" || stage == "":
		return " at once"
	}
	return ""
}

// effectOf words what cause idx did to the probes of the symptoms it explains, in the
// subject it is about (a peer's probes of it only where it has none of its own).
func (d *Diagnosis) effectOf(idx int, symptoms []int) (string, string) {
	subj := d.subjectIndex(d.fs[idx].Subject)
	byRow := map[string]*contract.Probe{}
	for _, p := range d.all {
		byRow[p.Row] = p
	}
	collect := func(own bool) []*contract.Probe {
		var out []*contract.Probe
		seen := map[string]bool{}
		for _, s := range symptoms {
			for _, e := range d.Graph.Edges {
				if e.Kind != RestsOn || e.From != d.Graph.findingNode(s) {
					continue
				}
				n := d.Graph.Nodes[e.To]
				if n.Kind != ProbeNode || own != (n.Subject == subj) || seen[n.Row] {
					continue
				}
				if p, ok := byRow[n.Row]; ok && p.Proto != "" {
					seen[n.Row] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	if subj < 0 {
		return "", ""
	}
	// The effect ends the headline: what is left of its budget once the cause is said.
	return effect(d.c, collect(true), subj, contract.HeadlineBudget-contract.WordsLength(d.fs[idx].message())-len(": "))
}

// andList joins "a", "b", "c" as "a, b and c".
func andList(ss []string) string {
	if len(ss) < 2 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " and " + ss[len(ss)-1]
}
