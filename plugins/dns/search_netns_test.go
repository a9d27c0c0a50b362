package dns_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/dns"

	// The whole diagnosis: dnsconfig's resolv.conf rows are the causes.
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
)

// zoneServer answers as a cluster DNS: svc.ns.svc.cluster.local. has an address, other
// names in cluster.local. are NXDOMAIN, and names outside it are REFUSED (no recursion).
func zoneAnswer(q []byte) []byte {
	h, question, ok := netnstest.Question(q)
	if !ok {
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired}
	name := strings.ToLower(question.Name.String())
	switch {
	case name == "svc.ns.svc.cluster.local.":
	case strings.HasSuffix(name, ".cluster.local."):
		rh.RCode = dnsmessage.RCodeNameError
	default:
		rh.RCode = dnsmessage.RCodeRefused
	}
	b := dnsmessage.NewBuilder(nil, rh)
	_ = b.StartQuestions()
	_ = b.Question(question)
	_ = b.StartAnswers()
	if rh.RCode == dnsmessage.RCodeSuccess && question.Type == dnsmessage.TypeA {
		_ = b.AResource(dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 30}, dnsmessage.AResource{A: [4]byte{10, 96, 7, 7}})
	}
	out, _ := b.Finish()
	return out
}

func serveZone(t *testing.T, s *netnstest.NS, addr string) {
	netnstest.ServeDNS(t, s, addr+":53", func(q []byte, _ net.IP, _ bool) []byte { return zoneAnswer(q) })
}

// twins are two pods on a node's bridge, alike but for what a test plants; the node
// (10.73.0.1) runs the DNS server.
func twins(t *testing.T, label string) (a, b, node *netnstest.NS) {
	node = netnstest.New(t, label+"n")
	node.IP("link", "add", "br0", "type", "bridge")
	node.IP("addr", "add", "10.73.0.1/24", "dev", "br0")
	node.IP("link", "set", "br0", "up")
	pod := func(suffix, cidr string) *netnstest.NS {
		ns := netnstest.New(t, label+suffix)
		host := fmt.Sprintf("dsv%d%s%s", os.Getpid()%100000, label[len(label)-1:], suffix)
		if out, err := exec.Command("ip", "link", "add", host, "netns", node.Name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name).CombinedOutput(); err != nil {
			t.Fatalf("veth: %v: %s", err, out)
		}
		node.IP("link", "set", host, "master", "br0", "up")
		ns.IP("addr", "add", cidr, "dev", "eth0")
		ns.IP("link", "set", "eth0", "up")
		ns.IP("route", "add", "default", "via", "10.73.0.1")
		return ns
	}
	a, b = pod("a", "10.73.0.5/24"), pod("b", "10.73.0.6/24")
	netnstest.Settle(t, a, b)
	return a, b, node
}

const podResolv = "nameserver 10.73.0.1\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"

// TestShortNameThroughTheSearchList: a short name resolves in pod-a through its search
// list and not in pod-b, whose resolv.conf lacks the search domain that holds it, or has
// ndots:1 so that svc.ns is asked as an absolute name first (and refused). The lookup
// records each candidate, and the first finding names pod-b's resolv.conf line.
func TestShortNameThroughTheSearchList(t *testing.T) {
	netnstest.RequireRoot(t)
	cases := []struct {
		name, label, resolvB, target string
		first                        string
		triedB                       string
	}{
		{"search-lacks-domain", "dsa",
			"nameserver 10.73.0.1\nsearch svc.cluster.local cluster.local\noptions ndots:5\n", "svc",
			"pod-b's resolv.conf has `search svc.cluster.local cluster.local` (pod-a: `search ns.svc.cluster.local svc.cluster.local cluster.local`): the lookup of svc finds no address (REFUSED)",
			"svc.svc.cluster.local. NXDOMAIN; svc.cluster.local. NXDOMAIN; svc. REFUSED"},
		{"ndots-1-absolute-first", "dsb",
			"nameserver 10.73.0.1\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:1\n", "svc.ns",
			"pod-b's resolv.conf has `options ndots:1` (pod-a: `options ndots:5`): the lookup of svc.ns finds no address (REFUSED)",
			"svc.ns. REFUSED"},
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t.Run("twins", func(t *testing.T) {
			a, b, s := twins(t, "dsc")
			serveZone(t, s, "10.73.0.1")
			a.WriteEtc("resolv.conf", podResolv)
			b.WriteEtc("resolv.conf", podResolv)
			appA, appB := a.Start("sleep", "60"), b.Start("sleep", "60")
			var ra, rb *report.Report
			var cw sync.WaitGroup
			cw.Go(func() {
				ra = a.Collect("--quiet", "--timeout", "1s", "--pid", strconv.Itoa(appA.Process.Pid), "--target", "dns://svc")
			})
			cw.Go(func() {
				rb = b.Collect("--quiet", "--timeout", "1s", "--pid", strconv.Itoa(appB.Process.Pid), "--target", "dns://svc")
			})
			cw.Wait()
			for _, sec := range []string{dns.Name, "dnsconfig"} {
				for _, f := range plugintest.Findings(t, sec, []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
					t.Errorf("identical pods: %s", f.Message)
				}
			}
			if v := plugintest.Facts(t, dns.Name, rb)["lookup/svc"]; v != "NOERROR A 10.96.7.7" {
				t.Errorf("lookup/svc = %q", v)
			}
		})
	})
	for _, tc := range cases {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				a, b, s := twins(t, tc.label)
				serveZone(t, s, "10.73.0.1")
				a.WriteEtc("resolv.conf", podResolv)
				b.WriteEtc("resolv.conf", tc.resolvB)
				appA, appB := a.Start("sleep", "60"), b.Start("sleep", "60")
				collect := func(ns *netnstest.NS, pid int) *report.Report {
					return ns.Collect("--quiet", "--timeout", "1s", "--attempts", "1", "--pid", strconv.Itoa(pid), "--target", "dns://"+tc.target)
				}
				var ra, rb *report.Report
				var cw sync.WaitGroup
				cw.Go(func() { ra = collect(a, appA.Process.Pid) })
				cw.Go(func() { rb = collect(b, appB.Process.Pid) })
				cw.Wait()

				fa, fb := plugintest.Facts(t, dns.Name, ra), plugintest.Facts(t, dns.Name, rb)
				plugintest.CheckFacts(t, map[string]map[string]string{"a": fa, "b": fb}, [][3]string{
					{"a", "lookup/" + tc.target, "NOERROR A 10.96.7.7"},
					{"b", "lookup/" + tc.target, "REFUSED"},
					{"b", "lookup/" + tc.target + "/tried", tc.triedB},
				})
				if got := fa["lookup/"+tc.target+"/tried"]; !strings.HasSuffix(got, "svc.ns.svc.cluster.local. NOERROR A 10.96.7.7") {
					t.Errorf("pod-a tried %q, want the answer from svc.ns.svc.cluster.local.", got)
				}

				res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var out strings.Builder
				_ = render.Render(&out, res, "wide", render.Options{})
				if len(res.Findings) == 0 || res.Findings[0].Kind != diff.Cause || !strings.Contains(res.Findings[0].Message, tc.first) {
					t.Fatalf("first finding is not %q:\n%s", tc.first, out.String())
				}
				causes := 0
				for _, f := range res.Findings {
					if f.Kind == diff.Cause && f.ConsequenceOf == "" && len(f.Explains) > 0 {
						causes++
					}
					if f.Kind == diff.Cause && strings.HasPrefix(f.Message, "pod-a") {
						t.Errorf("the healthy pod is blamed: %s", f.Message)
					}
				}
				if causes != 1 {
					t.Errorf("%d top-level causes, want 1:\n%s", causes, out.String())
				}
				t.Logf("first: %s (explains %d)\n%s", res.Findings[0].Message, len(res.Findings[0].Explains), out.String())
				plugintest.GoldenHeadline(t, "resolv-"+tc.name, res.Findings[0])
			})
		})
	}
	wg.Wait()
}
