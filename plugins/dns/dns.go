// Package dns queries each nameserver of the target's resolv.conf over UDP and over TCP
// and records rcode, answers and latency, so a resolver that times out on UDP in one pod
// and answers in another shows up as such.
package dns

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/resolvconf"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

const Name = "dns"

// maxAnswers caps the answers kept per query; a reply with hundreds of records says no
// more about reachability than its first few.
const maxAnswers = 20

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"fails-here-works-there": ruleFailsHereWorksThere,
			"rcode-differs":          ruleRCodeDiffers,
			"answers-differ":         ruleAnswersDiffer,
			"lookup-fails":           ruleLookupFails,
		},
		Analysis: &analysis,
	})
}

// Plugin is the DNS query probe.
type Plugin struct{}

// Section is the "dns" section.
type Section struct {
	// Nameservers are those of the target's resolv.conf, in order; ns1 is the first.
	Nameservers []string `json:"nameservers"`
	// ResolvConfError says why the target's resolv.conf could not be read.
	ResolvConfError *report.Error `json:"resolvConfError,omitempty"`
	// Questions are what was asked: the dns:// targets, or a default.
	Questions []Question `json:"questions"`
	Queries   []Query    `json:"queries"`
	// Lookups are the dns:// names without a trailing dot, expanded through the search
	// list as the app's resolver does.
	Lookups []Lookup `json:"lookups,omitempty"`
}

// Question is one name and type.
type Question struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Query is one question to one nameserver over one transport.
type Query struct {
	Server    string        `json:"server"`
	ServerKey string        `json:"serverKey"` // "ns1", "ns2", … in resolv.conf order
	Transport string        `json:"transport"` // "udp" or "tcp"
	Name      string        `json:"name"`
	Type      string        `json:"type"`
	RCode     string        `json:"rcode,omitempty"`
	Truncated bool          `json:"truncated,omitempty"`
	Answers   []string      `json:"answers,omitempty"`
	Error     *report.Error `json:"error,omitempty"`
	LatencyMs float64       `json:"latencyMs"`
}

// Collect asks every nameserver every question over UDP and TCP, all at once.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	deadline := netprobe.Deadline(ctx, time.Now(), env.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sec := &Section{Nameservers: []string{}, Questions: []Question{}, Queries: []Query{}}
	conf, err := resolvconf.ReadTarget(env.Proc, env.PID)
	if err != nil {
		sec.ResolvConfError = report.ErrorOf(err)
		return sec, nil
	}
	sec.Nameservers = append(sec.Nameservers, conf.Nameservers...)
	sec.Questions = Questions(env.Targets, conf.Search)
	for i, ns := range conf.Nameservers {
		for _, q := range sec.Questions {
			for _, tr := range []string{"udp", "tcp"} {
				sec.Queries = append(sec.Queries, Query{Server: ns, ServerKey: "ns" + strconv.Itoa(i+1), Transport: tr, Name: q.Name, Type: q.Type})
			}
		}
	}
	names := Lookups(env.Targets)
	sec.Lookups = make([]Lookup, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec.Lookups[i] = lookup(ctx, conf, n)
		}()
	}
	for i := range sec.Queries {
		wg.Add(1)
		go func(q *Query) {
			defer wg.Done()
			ask(ctx, q)
		}(&sec.Queries[i])
	}
	wg.Wait()
	return sec, nil
}

// Questions are the dns:// targets (A and AAAA each); without any, the API service's
// name in the cluster domain, or the root's NS records.
func Questions(targets []target.Target, search []string) []Question {
	var out []Question
	for _, t := range targets {
		if t.Scheme == target.DNS {
			n := fqdn(t.Host)
			out = append(out, Question{n, "A"}, Question{n, "AAAA"})
		}
	}
	if len(out) > 0 {
		return out
	}
	if len(search) > 0 {
		n := fqdn("kubernetes.default.svc." + clusterDomain(search))
		return []Question{{n, "A"}, {n, "AAAA"}}
	}
	return []Question{{".", "NS"}}
}

// clusterDomain is the domain of a pod's search list ("NS.svc.cluster.local
// svc.cluster.local cluster.local": cluster.local), so every pod, whatever its namespace,
// asks the one name that a healthy cluster DNS answers. A search list without a
// "svc." entry is not a pod's: its first domain.
func clusterDomain(search []string) string {
	d := make([]string, len(search))
	for i, s := range search {
		d[i] = strings.TrimSuffix(s, ".")
	}
	// The kubelet writes "NS.svc.D svc.D D": D follows the last "svc.D". The last, so a
	// namespace called svc ("svc.svc.D svc.D D") still gives D.
	for i := len(d) - 2; i >= 0; i-- {
		if d[i+1] != "" && d[i] == "svc."+d[i+1] {
			return d[i+1]
		}
	}
	return search[0]
}

func fqdn(n string) string {
	if strings.HasSuffix(n, ".") {
		return n
	}
	return n + "."
}

var qtypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "NS": dnsmessage.TypeNS, "SOA": dnsmessage.TypeSOA,
}

func ask(ctx context.Context, q *Query) {
	start := time.Now()
	defer func() { q.LatencyMs = float64(time.Since(start).Microseconds()) / 1000 }()
	id := uint16(rand.IntN(0x10000))
	msg, err := Build(id, q.Name, qtypes[q.Type])
	if err != nil {
		q.Error = report.ErrorOf(err)
		return
	}
	var resp []byte
	if q.Transport == "udp" {
		resp, err = exchangeUDP(ctx, q.Server, msg, id)
	} else {
		resp, err = exchangeTCP(ctx, q.Server, msg)
	}
	if err != nil {
		q.Error = report.ErrorOf(err)
		if q.Error.Errno == "" && errors.Is(err, io.EOF) {
			q.Error.Errno = "EOF"
		}
		return
	}
	q.RCode, q.Truncated, q.Answers, err = Parse(resp, id)
	if err != nil {
		q.Error = report.ErrorOf(err)
	}
}

// Build makes a recursive query for name and type.
func Build(id uint16, name string, typ dnsmessage.Type) ([]byte, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, fmt.Errorf("dns name %q: %w", name, err)
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// Parse reads a response: its rcode name, truncation, and answers as sorted "TYPE value"
// strings without TTLs (TTLs count down and would make every pair of reports differ).
func Parse(resp []byte, id uint16) (rcode string, truncated bool, answers []string, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		return "", false, nil, fmt.Errorf("malformed DNS response: %w", err)
	}
	if h.ID != id {
		return "", false, nil, fmt.Errorf("DNS response id %d does not match query id %d", h.ID, id)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return "", false, nil, fmt.Errorf("malformed DNS response: %w", err)
	}
	rrs, err := p.AllAnswers()
	if err != nil {
		return "", false, nil, fmt.Errorf("malformed DNS response: %w", err)
	}
	for _, rr := range rrs {
		answers = append(answers, formatRR(rr))
	}
	sort.Strings(answers)
	if len(answers) > maxAnswers {
		answers = append(answers[:maxAnswers], fmt.Sprintf("… %d more", len(answers)-maxAnswers))
	}
	return RCodeName(h.RCode), h.Truncated, answers, nil
}

// RCodeName is the rcode as dig prints it.
func RCodeName(r dnsmessage.RCode) string {
	switch r {
	case dnsmessage.RCodeSuccess:
		return "NOERROR"
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return "RCODE" + strconv.Itoa(int(r))
}

func formatRR(rr dnsmessage.Resource) string {
	switch b := rr.Body.(type) {
	case *dnsmessage.AResource:
		return "A " + net.IP(b.A[:]).String()
	case *dnsmessage.AAAAResource:
		return "AAAA " + net.IP(b.AAAA[:]).String()
	case *dnsmessage.CNAMEResource:
		return "CNAME " + b.CNAME.String()
	case *dnsmessage.NSResource:
		return "NS " + b.NS.String()
	case *dnsmessage.SOAResource:
		return "SOA " + b.NS.String() + " " + b.MBox.String()
	}
	return strings.TrimPrefix(rr.Header.Type.String(), "Type")
}

func serverAddr(ns string) string { return net.JoinHostPort(ns, "53") }

func exchangeUDP(ctx context.Context, ns string, msg []byte, id uint16) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", serverAddr(ns))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		// A stray or spoofed datagram with another id is not the answer.
		if n >= 2 && binary.BigEndian.Uint16(buf) == id {
			return buf[:n], nil
		}
	}
}

func exchangeTCP(ctx context.Context, ns string, msg []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", serverAddr(ns))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	if _, err := c.Write(append(framed, msg...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Key is a query's fact key: "ns1/udp/kubernetes.default.svc.cluster.local./A".
func (q Query) Key() string { return q.ServerKey + "/" + q.Transport + "/" + q.Name + "/" + q.Type }

// Outcome is the fact value: "NOERROR A 10.96.0.1", "NXDOMAIN", "NOERROR (no answers)",
// or "error ETIMEDOUT".
func (q Query) Outcome() string {
	if q.Error != nil {
		return "error " + q.Error.Name()
	}
	s := q.RCode
	if q.Truncated {
		s += " (truncated)"
	}
	if len(q.Answers) == 0 {
		if q.RCode == "NOERROR" {
			s += " (no answers)"
		}
		return s
	}
	return s + " " + strings.Join(q.Answers, ", ")
}

// facts: nameserver addresses and query outcomes (Exact), latency (Info).
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	if s.ResolvConfError != nil {
		out = append(out, probe.Fact{Key: "resolv.conf", Value: "error " + s.ResolvConfError.Name()})
	}
	for i, ns := range s.Nameservers {
		out = append(out, probe.Fact{Key: "ns" + strconv.Itoa(i+1), Value: ns})
	}
	for _, l := range s.Lookups {
		var tried []string
		for _, c := range l.Tried {
			tried = append(tried, c.Name+" "+c.Result())
		}
		out = append(out,
			probe.Fact{Key: "lookup/" + l.Name, Value: l.Outcome},
			probe.Fact{Key: "lookup/" + l.Name + "/tried", Value: strings.Join(tried, "; "), Kind: probe.ShowOnly})
	}
	for _, q := range s.Queries {
		out = append(out,
			probe.Fact{Key: q.Key(), Value: q.Outcome()},
			probe.Fact{Key: q.Key() + "/latency", Value: strconv.FormatFloat(q.LatencyMs, 'f', -1, 64) + "ms", Kind: probe.ShowOnly})
	}
	return out
}

// isTimeout tells a deadline from other failures for the rules.
func isTimeout(e *report.Error) bool { return e != nil && e.Errno == "ETIMEDOUT" }
