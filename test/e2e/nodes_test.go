//go:build e2e

package e2e

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	nodesOnce          sync.Once
	nodesNs, noEndNs   string
	nodesErr           error
	nodesFixturePods   = []string{"x1", "x2", "x3", "x4", "odd1", "odd2", "dns-gone"}
	noEndpointsFixture = []string{"y1"}
)

// twoNodes returns the namespaces of nodes.yaml and noendpoints.yaml, Ready; it skips on
// a one-node cluster.
func (x *env) twoNodes(t *testing.T) (string, string) {
	t.Helper()
	if x.node2 == "" {
		t.Skip("the cluster has one node; these tests need two (make e2e's cluster has two)")
	}
	nodesOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if nodesNs, nodesErr = x.namespace(ctx, "netdiff-e2e-nodes", nil); nodesErr != nil {
			return
		}
		if noEndNs, nodesErr = x.namespace(ctx, "netdiff-e2e-noend", nil); nodesErr != nil {
			return
		}
		if nodesErr = x.apply(ctx, nodesNs, "nodes.yaml"); nodesErr != nil {
			return
		}
		if nodesErr = x.apply(ctx, noEndNs, "noendpoints.yaml"); nodesErr != nil {
			return
		}
		if nodesErr = x.waitReady(ctx, nodesNs, nodesFixturePods...); nodesErr == nil {
			nodesErr = x.waitReady(ctx, noEndNs, noEndpointsFixture...)
		}
	})
	if nodesErr != nil {
		t.Fatalf("two-node fixtures: %v", nodesErr)
	}
	return nodesNs, noEndNs
}

// Identical replicas on two different nodes: what differs between nodes (gateway MAC,
// node IPs, veth names and indexes, the pod addresses) is normalised away, and the
// cluster DNS answers both.
func TestTwinsOnTwoNodesAreSilent(t *testing.T) {
	x := need(t)
	ns, _ := x.twoNodes(t)
	r := x.netdiff(t, "-n", ns, "x1", "x2", "--all", "-o", "json")
	r.want(t, 0)
	d := parseDiff(t, r)
	dnsOK := 0
	for _, row := range d.Rows {
		if row.Section == "dns" && strings.HasSuffix(row.Key, "/kubernetes.default.svc.cluster.local./A") {
			for _, v := range row.Values {
				if s, _ := v.(string); strings.HasPrefix(s, "NOERROR ") {
					dnsOK++
				}
			}
		}
	}
	if dnsOK < 2 {
		t.Errorf("the cluster DNS did not answer kubernetes.default in both pods (%d answers):\n%s", dnsOK, clip(r.stdout))
	}
}

// --node-side on pods on two nodes: a node pod on each node, the node-side view of twins
// the same after normalisation, and no node pod left.
func TestNodeSideOnTwoNodes(t *testing.T) {
	x := need(t)
	ns, _ := x.twoNodes(t)
	x.nodeSideTwinsClean(t, ns, "x1", "x2")
}

// -l across nodes: the broken replica is the odd one out whichever node it is on, and
// its cause leads.
func TestSelectorAcrossNodesFindsTheOddPod(t *testing.T) {
	x := need(t)
	ns, _ := x.twoNodes(t)
	for _, c := range []struct{ selector, odd string }{{"g1=yes", "odd1"}, {"g2=yes", "odd2"}} {
		t.Run(c.odd, func(t *testing.T) {
			r := x.netdiff(t, "-n", ns, "-l", c.selector, "-o", "json")
			r.want(t, 1)
			d := parseDiff(t, r)
			if len(d.Findings) == 0 || d.Findings[0].Kind != "cause" || d.Findings[0].Subject != c.odd || d.Findings[0].Rule != "routes/no-default-route" {
				t.Fatalf("the first finding is not %s's missing default route: %+v", c.odd, d.Findings)
			}
			for _, f := range d.Findings {
				if f.Rule == "diff/odd-one-out" && !strings.HasPrefix(f.Message, "odd one out: "+c.odd+" ") {
					t.Errorf("a healthy replica is called odd: %s", f.Message)
				}
			}
		})
	}
}

// A pod whose nameserver does not exist against one using the cluster DNS: the healthy
// pod's lookup succeeds, the other's fails, and the cause named first is the nameserver.
func TestNameserverThatDoesNotExist(t *testing.T) {
	x := need(t)
	ns, _ := x.twoNodes(t)
	r := x.netdiff(t, "-n", ns, "x1", "dns-gone", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	if len(d.Findings) == 0 || d.Findings[0].Kind != "cause" || !strings.Contains(d.Findings[0].Message, "10.96.0.99") {
		t.Errorf("the first finding is not a cause naming the nameserver 10.96.0.99: %+v", d.Findings)
	}
	ok, failed := false, false
	for _, row := range d.Rows {
		if row.Section == "dns" && strings.HasSuffix(row.Key, "/kubernetes.default.svc.cluster.local./A") {
			s0, _ := row.Values[0].(string)
			s1, _ := row.Values[1].(string)
			ok = ok || strings.HasPrefix(s0, "NOERROR ")
			failed = failed || strings.HasPrefix(s1, "error ")
		}
	}
	if !ok || !failed {
		t.Errorf("want x1's lookup of kubernetes.default to succeed (%v) and dns-gone's to fail (%v):\n%s", ok, failed, clip(r.stdout))
	}
}

// The same app in two namespaces, both connecting to their Service "web" by its short
// name: here it has endpoints, there none, and kube-proxy rejects the connection. The
// empty Service is the first cause, in the pod whose Service it is, and explains the
// refused connects.
func TestServiceWithoutEndpoints(t *testing.T) {
	x := need(t)
	ns, noEnd := x.twoNodes(t)
	r := x.netdiff(t, ns+"/x1", noEnd+"/y1", "--target", "web:80", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	if len(d.Findings) == 0 {
		t.Fatal("no findings")
	}
	top := d.Findings[0]
	if top.Kind != "cause" || top.Rule != "services/no-ready-endpoints" || top.Subject != noEnd+"/y1" || !strings.Contains(top.Message, noEnd+"/web") || len(top.Explains) == 0 {
		t.Fatalf("the first finding is not y1's empty Service explaining its connects: %+v", d.Findings)
	}
	explained := false
	for _, f := range d.Findings {
		explained = explained || slices.Contains(f.ExplainedBy, top.ID) && f.Kind == "symptom" && strings.HasPrefix(f.Rule, "connect/")
	}
	if !explained {
		t.Errorf("no connect symptom is explained by the empty Service: %+v", d.Findings)
	}
	// The rows themselves: kube-proxy's reject in y1, answers in x1.
	rejected := false
	for _, row := range d.Rows {
		if row.Section == "connect" && row.Key == "tcp/nonblocking-burst/tcp://web:80/ipv4" {
			s0, _ := row.Values[0].(string)
			s1, _ := row.Values[1].(string)
			rejected = strings.HasPrefix(s0, "ok ") && strings.Contains(s1, "ECONNREFUSED")
		}
	}
	if !rejected {
		t.Errorf("want x1's connects to web:80 ok and y1's ECONNREFUSED:\n%s", clip(r.stdout))
	}
	for _, f := range d.Findings {
		if f.Subject == ns+"/x1" && f.Kind == "cause" {
			t.Errorf("a cause is put on x1, whose Service has endpoints: %s", f.Message)
		}
	}
}

// The local cluster is shaped like the clusters users run (docs/cluster.md): on each node
// a pod has a /32 and a default route via 169.254.1.1 (Calico), resolves
// kubernetes.default through CoreDNS, and reaches a ClusterIP Service through kube-proxy.
func TestLocalClusterIsCalicoShaped(t *testing.T) {
	x := need(t)
	if os.Getenv("NETDIFF_E2E_LOCAL") == "" || os.Getenv("NETDIFF_CLUSTER_CNI") == "ptp" {
		t.Skip("checks the project's own cluster in its default (Calico) profile")
	}
	ns, _ := x.twoNodes(t)
	ctx := context.Background()
	svc, err := x.kubectlOut(ctx, "get", "service", "-n", ns, "web", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil || svc == "" {
		t.Fatalf("service web: %v %s", err, svc)
	}
	for _, pod := range []string{"x1", "x2"} { // one on each node
		sh := func(cmd string) string {
			out, err := x.kubectlExec(ctx, ns, pod, "app", "sh", "-c", cmd)
			if err != nil {
				t.Errorf("%s: %s: %v: %s", pod, cmd, err, out)
			}
			return out
		}
		if out := sh("ip -4 addr show eth0"); !regexp.MustCompile(`inet [0-9.]+/32 `).MatchString(out) {
			t.Errorf("%s: eth0 has no /32:\n%s", pod, out)
		}
		if out := sh("ip route"); !strings.Contains(out, "default via 169.254.1.1 dev eth0") {
			t.Errorf("%s: no default via 169.254.1.1:\n%s", pod, out)
		}
		if out := sh("nslookup kubernetes.default.svc.cluster.local"); !strings.Contains(out, "10.96.0.1") {
			t.Errorf("%s: kubernetes.default does not resolve to 10.96.0.1:\n%s", pod, out)
		}
		if out := sh("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + svc + " 80 | head -1"); !strings.Contains(out, "200") {
			t.Errorf("%s: Service web (%s:80) does not answer: %q", pod, svc, out)
		}
	}
}
