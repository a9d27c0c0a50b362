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
	for _, part := range strings.Split(strings.TrimPrefix(p.Detail[i], "error "), ", ") {
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

// effect words what a cause did to this run's probes in subject i, from the outcomes of
// the probes it explains: which targets, which transport, how many of how many
// attempts, which errno, at once or after a timeout, and, where the same target worked
// one at a time but not in a burst, that. Targets of one host that fared alike are one
// phrase with their ports.
func effect(c *contract.Comparison, probes []*contract.Probe, i int) string {
	type group struct {
		proto, host string
		ports       []int
		all         []outcome
	}
	perTarget := map[string][]outcome{}
	var targets []string
	for _, p := range probes {
		if p.Proto == "" || i >= len(p.Status) {
			continue
		}
		o, ok := readOutcome(p, i)
		if !ok {
			continue
		}
		k := p.Proto + " " + p.Target
		if _, seen := perTarget[k]; !seen {
			targets = append(targets, k)
		}
		perTarget[k] = append(perTarget[k], o)
	}
	sort.Strings(targets)
	groups := map[string]*group{}
	var order []string
	for _, k := range targets {
		os := perTarget[k]
		p := os[0].p
		shape := groupWords(c, p.Proto, "", os, i) // how it fared, without where
		gk := p.Proto + "\x00" + target.Host(p.Target) + "\x00" + shape
		g := groups[gk]
		if g == nil {
			g = &group{proto: p.Proto, host: target.Host(p.Target)}
			groups[gk] = g
			order = append(order, gk)
		}
		if p.Port != 0 {
			g.ports = append(g.ports, p.Port)
		}
		g.all = append(g.all, os...)
	}
	// Everything failed alike (one errno, all attempts): one phrase for all targets.
	if len(order) > 1 {
		errno, stage, fail, total, ok := "", "", 0, 0, true
		protos := map[string]bool{}
		var names []string
		for _, k := range order {
			g := groups[k]
			for _, o := range g.all {
				if o.errno == "" || o.ok > 0 || errno != "" && o.errno != errno {
					ok = false
				}
				errno, stage = o.errno, o.stage
				fail += o.failed
				total += o.attempts
			}
			if !protos[g.proto] {
				protos[g.proto] = true
				names = append(names, strings.ToUpper(g.proto))
			}
		}
		if ok {
			return fmt.Sprintf("every %s probe of %d targets fails%s with %s (%d of %d)", strings.Join(names, "/"), len(order), stageWords(stage, errno), errno, fail, total)
		}
	}
	var parts []string
	for n, k := range order {
		if n == 1 && len(order) > 2 {
			parts = append(parts, fmt.Sprintf("and %d more %s", len(order)-n, contract.Plural(len(order)-n, "target", "targets")))
			break
		}
		g := groups[k]
		where := g.host
		switch len(g.ports) {
		case 0:
		case 1:
			where = fmt.Sprintf("%s:%d", g.host, g.ports[0])
		default:
			var ps []string
			for _, p := range g.ports {
				ps = append(ps, strconv.Itoa(p))
			}
			where = fmt.Sprintf("%s (ports %s)", g.host, strings.Join(ps, ", "))
		}
		parts = append(parts, groupWords(c, g.proto, where, g.all, i))
	}
	return strings.Join(parts, "; ")
}

// groupWords: "bursts of 10 TCP connects to 10.0.0.2:8080 get ECONNREFUSED at once on 9
// of 10; one at a time they work", "TCP connects to 10.88.0.1:9090 fail at once with
// EHOSTUNREACH (15 of 15)".
func groupWords(c *contract.Comparison, proto, where string, os []outcome, i int) string {
	var burst []outcome
	var seq []outcome
	for _, o := range os {
		if o.p.Burst {
			burst = append(burst, o)
		} else {
			seq = append(seq, o)
		}
	}
	what := strings.ToUpper(proto) + " " + map[string]string{"tcp": "connects", "udp": "queries", "icmp": "pings"}[proto]
	if proto == "tcp" && len(os) > 0 && os[0].p.Port == 0 {
		what = "TCP connects"
	}
	// Only bursts fail: the rate or count is the trigger.
	seqFailed := false
	for _, o := range seq {
		if o.errno != "" {
			seqFailed = true
		}
	}
	if len(burst) > 0 && !seqFailed {
		b := burst[0]
		for _, o := range burst[1:] {
			if o.failed > b.failed {
				b = o
			}
		}
		s := fmt.Sprintf("in bursts of %d, %d %s to %s fail%s with %s", b.attempts, b.failed, what, where, stageWords(b.stage, b.errno), b.errno)
		if len(seq) > 0 {
			s += "; one at a time they work"
		}
		return s
	}
	fail, total, ok := 0, 0, 0
	errno, stage := "", ""
	for _, o := range os {
		fail += o.failed
		total += o.attempts
		ok += o.ok
		if errno == "" || o.failed > 0 && errno != o.errno && o.failed > fail/2 {
			errno, stage = o.errno, o.stage
		}
	}
	if errno == "" {
		return fmt.Sprintf("%s to %s differ", what, where)
	}
	verb := "fail"
	if ok > 0 {
		verb = "partly fail"
	}
	return fmt.Sprintf("%s to %s %s%s with %s (%d of %d)", what, where, verb, stageWords(stage, errno), errno, fail, total)
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
func (d *Diagnosis) effectOf(idx int, symptoms []int) string {
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
		return ""
	}
	return effect(d.c, collect(true), subj)
}
