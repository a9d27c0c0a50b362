package dns

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

func TestQuestions(t *testing.T) {
	dnsT, _ := target.Parse("dns://example.test")
	tcpT, _ := target.Parse("10.0.0.1:80")
	tests := []struct {
		name    string
		targets []target.Target
		search  []string
		want    []Question
	}{
		{"dns targets win", []target.Target{tcpT, dnsT}, []string{"default.svc.cluster.local"}, []Question{{"example.test.", "A"}, {"example.test.", "AAAA"}}},
		// The API service's absolute name: the same question from every namespace, one a
		// healthy cluster DNS answers (under the first search domain it is NXDOMAIN).
		{"kubernetes default", []target.Target{tcpT}, []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			[]Question{{"kubernetes.default.svc.cluster.local.", "A"}, {"kubernetes.default.svc.cluster.local.", "AAAA"}}},
		{"other cluster domain", nil, []string{"a.svc.corp.example.", "svc.corp.example.", "corp.example."},
			[]Question{{"kubernetes.default.svc.corp.example.", "A"}, {"kubernetes.default.svc.corp.example.", "AAAA"}}},
		{"a namespace called svc", nil, []string{"svc.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			[]Question{{"kubernetes.default.svc.cluster.local.", "A"}, {"kubernetes.default.svc.cluster.local.", "AAAA"}}},
		{"not a pod's search list", nil, []string{"lab.example"},
			[]Question{{"kubernetes.default.svc.lab.example.", "A"}, {"kubernetes.default.svc.lab.example.", "AAAA"}}},
		{"no search list", nil, nil, []Question{{".", "NS"}}},
	}
	for _, tt := range tests {
		if got := Questions(tt.targets, tt.search); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Questions = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBuildParseRoundTrip(t *testing.T) {
	q, err := Build(77, "svc.example.", dnsmessage.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	var p dnsmessage.Parser
	h, _ := p.Start(q)
	qs, _ := p.AllQuestions()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Truncated: true})
	b.StartQuestions()
	b.Question(qs[0])
	b.StartAnswers()
	for _, ip := range [][4]byte{{10, 0, 0, 2}, {10, 0, 0, 1}} {
		b.AResource(dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.AResource{A: ip})
	}
	resp, _ := b.Finish()
	rcode, tc, answers, err := Parse(resp, 77)
	if err != nil || rcode != "NOERROR" || !tc || !reflect.DeepEqual(answers, []string{"A 10.0.0.1", "A 10.0.0.2"}) {
		t.Errorf("Parse = %q %v %v %v", rcode, tc, answers, err)
	}
	if _, _, _, err := Parse(resp, 78); err == nil {
		t.Error("Parse accepted a response with another id")
	}
	if _, _, _, err := Parse(resp[:5], 77); err == nil {
		t.Error("Parse accepted a truncated message")
	}
	q2 := Query{RCode: rcode, Truncated: tc, Answers: answers}
	if got := q2.Outcome(); got != "NOERROR (truncated) A 10.0.0.1, A 10.0.0.2" {
		t.Errorf("Outcome = %q", got)
	}
	if got := (Query{Error: &report.Error{Errno: "ECONNREFUSED"}}).Outcome(); got != "error ECONNREFUSED" {
		t.Errorf("Outcome = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	q, _ := Build(1, "a.example.", dnsmessage.TypeAAAA)
	f.Add(q)
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = Parse(b, 1)
	})
}

// The candidates in glibc's res_nsearch order: fewer dots than ndots through each search
// domain then as is; at least ndots as is first; a trailing dot as is only.
func TestCandidates(t *testing.T) {
	search := []string{"ns.svc.cluster.local", "svc.cluster.local.", "cluster.local"}
	for _, tc := range []struct {
		name  string
		ndots int
		want  string
	}{
		{"svc", 5, "svc.ns.svc.cluster.local. svc.svc.cluster.local. svc.cluster.local. svc."},
		{"svc.ns", 5, "svc.ns.ns.svc.cluster.local. svc.ns.svc.cluster.local. svc.ns.cluster.local. svc.ns."},
		{"svc.ns", 1, "svc.ns. svc.ns.ns.svc.cluster.local. svc.ns.svc.cluster.local. svc.ns.cluster.local."},
		{"svc", 0, "svc. svc.ns.svc.cluster.local. svc.svc.cluster.local. svc.cluster.local."},
		{"example.com.", 5, "example.com."},
	} {
		if got := strings.Join(Candidates(tc.name, search, tc.ndots), " "); got != tc.want {
			t.Errorf("Candidates(%q, ndots:%d) = %s, want %s", tc.name, tc.ndots, got, tc.want)
		}
	}
	if got := Candidates("svc", nil, 5); len(got) != 1 || got[0] != "svc." {
		t.Errorf("no search list: %v", got)
	}
}
