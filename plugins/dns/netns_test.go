package dns

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// S runs a tiny DNS server on :53 (UDP and TCP). It answers by client subnet, as split
// horizon DNS would: A (10.10.1.0/24) gets svc → 10.10.9.1 and moved → 10.10.9.2; B
// (10.10.2.0/24) gets svc → 10.10.9.3 and NXDOMAIN for moved, and its UDP queries are
// silently dropped. Both use nameserver 10.10.2.2 from their own resolv.conf.
func TestDNSInNamespaces(t *testing.T) {
	a, b, s := netnstest.TwoClients(t, "dns")
	serveDNS(t, s)
	a.WriteEtc("resolv.conf", "nameserver 10.10.2.2\nsearch netdiff.test\n")
	b.WriteEtc("resolv.conf", "nameserver 10.10.2.2\nsearch netdiff.test\n")
	appA, appB := a.Start("sleep", "60"), b.Start("sleep", "60")

	collect := func(ns *netnstest.NS, pid int) *report.Report {
		return ns.Collect("--quiet", "--timeout", "1s", "--pid", strconv.Itoa(pid),
			"--target", "dns://svc.netdiff.test", "--target", "dns://moved.netdiff.test")
	}
	ra, rb := collect(a, appA.Process.Pid), collect(b, appB.Process.Pid)
	fa, fb := plugintest.Facts(t, Name, ra), plugintest.Facts(t, Name, rb)
	plugintest.CheckFacts(t, map[string]map[string]string{"A": fa, "B": fb}, [][3]string{
		{"A", "ns1", "10.10.2.2"},
		{"A", "ns1/udp/svc.netdiff.test./A", "NOERROR A 10.10.9.1"},
		{"A", "ns1/tcp/svc.netdiff.test./A", "NOERROR A 10.10.9.1"},
		{"A", "ns1/udp/svc.netdiff.test./AAAA", "NOERROR (no answers)"},
		{"A", "ns1/tcp/moved.netdiff.test./A", "NOERROR A 10.10.9.2"},
		{"B", "ns1/udp/svc.netdiff.test./A", "error ETIMEDOUT"},
		{"B", "ns1/tcp/svc.netdiff.test./A", "NOERROR A 10.10.9.3"},
		{"B", "ns1/tcp/moved.netdiff.test./A", "NXDOMAIN"},
	})
	c := &contract.Comparison{Subjects: []string{"A", "B"}, Reports: []*report.Report{ra, rb}}
	for _, tt := range []struct {
		rule contract.Rule
		want string
	}{
		{ruleFailsHereWorksThere, "B: DNS over UDP to 10.10.2.2 (ns1) for moved.netdiff.test. A times out but is answered in A; TCP to the same server works here"},
		{ruleRCodeDiffers, "DNS ns1/tcp/moved.netdiff.test./A: the answer code differs: NOERROR in A; NXDOMAIN in B"},
		{ruleAnswersDiffer, "DNS ns1/tcp/svc.netdiff.test./A: the answers differ: A 10.10.9.1 in A; A 10.10.9.3 in B"},
	} {
		found := false
		var msgs []string
		for _, f := range tt.rule(c) {
			msgs = append(msgs, f.Message)
			found = found || strings.Contains(f.Message, tt.want)
		}
		if !found {
			t.Errorf("no finding %q among:\n%s", tt.want, strings.Join(msgs, "\n"))
		}
	}
}

func fromB(ip net.IP) bool { return ip.To4() != nil && ip.To4()[2] == 2 }

func answer(q []byte, client net.IP) []byte {
	h, question, ok := netnstest.Question(q)
	if !ok {
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	var ip [4]byte
	name := question.Name.String()
	switch {
	case name == "svc.netdiff.test." && !fromB(client):
		ip = [4]byte{10, 10, 9, 1}
	case name == "svc.netdiff.test.":
		ip = [4]byte{10, 10, 9, 3}
	case name == "moved.netdiff.test." && !fromB(client):
		ip = [4]byte{10, 10, 9, 2}
	default:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(question)
	b.StartAnswers()
	if rh.RCode == dnsmessage.RCodeSuccess && question.Type == dnsmessage.TypeA {
		b.AResource(dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 30}, dnsmessage.AResource{A: ip})
	}
	out, _ := b.Finish()
	return out
}

func serveDNS(t *testing.T, s *netnstest.NS) {
	// UDP to the address the clients ask (a wildcard UDP socket would answer A from
	// 10.10.1.2, which A's connected socket ignores); B's UDP vanishes: the planted timeout.
	netnstest.ServeDNS(t, s, "10.10.2.2:53", func(q []byte, client net.IP, tcp bool) []byte {
		if !tcp && fromB(client) {
			return nil
		}
		return answer(q, client)
	})
}
