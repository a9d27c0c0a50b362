package dns

import (
	"context"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/resolvconf"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Lookup is a name looked up as the app's stub resolver would: expanded through the
// search list by ndots, each candidate asked in turn until one answers.
type Lookup struct {
	// Name is the dns:// target as typed, without a trailing dot ("svc", "svc.ns").
	Name string `json:"name"`
	// Ndots is resolv.conf's, which decided the order of Tried.
	Ndots int `json:"ndots"`
	// Tried are the candidates asked, in order, up to the one that ended the lookup.
	Tried []Candidate `json:"tried"`
	// AnsweredBy is the candidate that answered; "" when the lookup failed.
	AnsweredBy string `json:"answeredBy,omitempty"`
	// Outcome is what the resolver returns: the answers, or the rcode or error that ended
	// the walk ("NXDOMAIN" when every candidate was NXDOMAIN).
	Outcome string `json:"outcome"`
}

// Candidate is one fully qualified name tried, asked for A and AAAA over UDP.
type Candidate struct {
	Name    string        `json:"name"`
	Server  string        `json:"server,omitempty"`
	RCode   string        `json:"rcode,omitempty"`
	Answers []string      `json:"answers,omitempty"`
	Error   *report.Error `json:"error,omitempty"`
}

// Result is the candidate's outcome as a fact value reads it: "NOERROR A 10.0.0.1",
// "NXDOMAIN", "NOERROR (no answers)", "error ETIMEDOUT".
func (c Candidate) Result() string {
	return Query{RCode: c.RCode, Answers: c.Answers, Error: c.Error}.Outcome()
}

// Candidates expands name as glibc's res_nsearch does: a name with a trailing dot is
// asked as is; one with fewer dots than ndots is tried with each search domain in order,
// then as is; one with at least ndots dots is tried as is first, then with each search
// domain (musl stops after the name as is).
func Candidates(name string, search []string, ndots int) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var withSearch []string
	for _, d := range search {
		d = strings.Trim(d, ".")
		if d != "" {
			withSearch = append(withSearch, name+"."+d+".")
		}
	}
	if strings.Count(name, ".") >= ndots {
		return append([]string{name + "."}, withSearch...)
	}
	return append(withSearch, name+".")
}

// Lookups are the dns:// targets without a trailing dot, the names a search list expands.
func Lookups(targets []target.Target) []string {
	var out []string
	for _, t := range targets {
		if t.Scheme == target.DNS && !strings.HasSuffix(t.Host, ".") {
			out = append(out, t.Host)
		}
	}
	return out
}

// lookup walks the candidates of name: the first nameserver that gives an answer (the
// next on a timeout or a refused connection, as the resolver moves on) is asked A and
// AAAA; a candidate with records ends the walk, NXDOMAIN, no records (NODATA) and
// SERVFAIL go on to the next candidate, any other answer (REFUSED, NOTIMP) or no answer
// at all ends it as glibc's res_nsearch does.
func lookup(ctx context.Context, conf *resolvconf.Config, name string) Lookup {
	l := Lookup{Name: name, Ndots: conf.Ndots(), Tried: []Candidate{}}
	nodata, servfail := false, false
	for _, n := range Candidates(name, conf.Search, l.Ndots) {
		c := askCandidate(ctx, conf.Nameservers, n)
		l.Tried = append(l.Tried, c)
		switch {
		case c.Error == nil && len(c.Answers) > 0:
			l.AnsweredBy, l.Outcome = n, c.Result()
			return l
		case c.Error == nil && c.RCode == "NOERROR":
			nodata = true
		case c.Error == nil && c.RCode == "SERVFAIL":
			servfail = true
		case c.Error == nil && c.RCode == "NXDOMAIN":
		default:
			l.Outcome = c.Result()
			return l
		}
	}
	switch {
	case nodata:
		l.Outcome = "NOERROR (no answers)"
	case servfail:
		l.Outcome = "SERVFAIL"
	default:
		l.Outcome = "NXDOMAIN"
	}
	return l
}

func askCandidate(ctx context.Context, servers []string, name string) Candidate {
	c := Candidate{Name: name}
	if len(servers) == 0 {
		// No nameserver line: the resolvers ask the local host.
		servers = []string{"127.0.0.1"}
	}
	for _, ns := range servers {
		qa := Query{Server: ns, Transport: "udp", Name: name, Type: "A"}
		q6 := Query{Server: ns, Transport: "udp", Name: name, Type: "AAAA"}
		done := make(chan struct{})
		go func() { ask(ctx, &q6); close(done) }()
		ask(ctx, &qa)
		<-done
		c.Server = ns
		if qa.Error != nil && q6.Error != nil {
			c.Error = qa.Error
			continue // the next server, as the resolver does on a timeout
		}
		c.Error = nil
		c.Answers = nil
		rcode := ""
		for _, q := range []Query{qa, q6} {
			if q.Error != nil {
				continue
			}
			c.Answers = append(c.Answers, q.Answers...)
			if rcode == "" || q.RCode == "NOERROR" && len(q.Answers) > 0 {
				rcode = q.RCode
			}
		}
		c.RCode = rcode
		return c
	}
	return c
}
