//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The local cluster's Felix enforces policies (docs/cluster.md): these tests show it on
// both nodes, without netdiff, so that a policy finding is never tested against a cluster
// that would not have dropped the packet. A client and a server on each node; the clients
// connect to both servers (same node and across the VXLAN).

const policyFixture = `
apiVersion: v1
kind: Pod
metadata: {name: client-1, labels: {role: client}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: "${APP_IMAGE}", imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client-2, labels: {role: client}}
spec:
  nodeName: ${NODE2}
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: "${APP_IMAGE}", imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: server-1, labels: {role: server}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: "${APP_IMAGE}", imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"], ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: server-2, labels: {role: server}}
spec:
  nodeName: ${NODE2}
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: "${APP_IMAGE}", imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"], ports: [{containerPort: 8080, name: http}]}]
`

// policyEnforced skips unless the cluster is known to enforce NetworkPolicies:
// NETDIFF_E2E_POLICY=1, which hack/cluster/e2e.sh sets when it brought the local cluster
// up with Felix (NETDIFF_CLUSTER_FELIX=1), and which asserts it for any other cluster.
// (Calico's objects alone prove nothing: they outlive a Felix that was stopped.)
func (x *env) policyEnforced(t *testing.T) {
	t.Helper()
	if x.node2 == "" {
		t.Skip("needs two nodes")
	}
	if os.Getenv("NETDIFF_E2E_POLICY") != "1" {
		t.Skip("NETDIFF_E2E_POLICY is not 1: the cluster is not known to enforce NetworkPolicies " +
			"(NETDIFF_CLUSTER_FELIX=1 make e2e runs the local cluster with Felix)")
	}
}

// connect is one HTTP request from a client pod with busybox nc and a 3 s connect limit
// (the image's static busybox wget crashes): "" when the server answered, else nc's
// complaint ("timed out" when a policy drops the SYN).
func (x *env) connect(ctx context.Context, ns, from, ip string) string {
	out, err := x.kubectlExec(ctx, ns, from, "app", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 "$0" 8080`, ip)
	switch {
	case err != nil:
		return err.Error()
	case !strings.Contains(out, "200 OK"):
		return "unexpected answer: " + out
	}
	return ""
}

// expect waits (Felix programs a change within a second or two) until every client's
// connect to every server succeeds (ok) or times out (!ok), and fails the test with what
// each got otherwise.
func (x *env) expect(t *testing.T, ns string, servers map[string]string, ok bool, why string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deadline := time.Now().Add(45 * time.Second)
	for {
		var bad []string
		for _, c := range []string{"client-1", "client-2"} {
			for _, s := range []string{"server-1", "server-2"} {
				got := x.connect(ctx, ns, c, servers[s])
				switch {
				case ok && got != "":
					bad = append(bad, fmt.Sprintf("%s -> %s (%s): %s", c, s, servers[s], got))
				case !ok && got == "":
					bad = append(bad, fmt.Sprintf("%s -> %s (%s): connected", c, s, servers[s]))
				case !ok && !strings.Contains(got, "timed out"):
					bad = append(bad, fmt.Sprintf("%s -> %s (%s): failed without a timeout: %s", c, s, servers[s], got))
				}
			}
		}
		if len(bad) == 0 {
			t.Logf("%s: every client %s", why, map[bool]string{true: "connects", false: "times out"}[ok])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want every connect to %s, got:\n  %s", why,
				map[bool]string{true: "succeed", false: "time out"}[ok], strings.Join(bad, "\n  "))
		}
		time.Sleep(time.Second)
	}
}

func TestNetworkPolicyEnforcedOnBothNodes(t *testing.T) {
	x := need(t)
	x.policyEnforced(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns, err := x.namespace(ctx, "netdiff-e2e-policy", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = x.kubectlOut(context.Background(), "delete", "namespace", ns, "--wait=false") })
	m := strings.NewReplacer("${NODE2}", x.node2, "${NODE}", x.node, "${APP_IMAGE}", x.appImage).Replace(policyFixture)
	if out, err := x.kubectlIn(ctx, m, "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v: %s", err, out)
	}
	if err := x.waitReady(ctx, ns, "client-1", "client-2", "server-1", "server-2"); err != nil {
		t.Fatal(err)
	}
	servers := map[string]string{}
	for _, s := range []string{"server-1", "server-2"} {
		ip, err := x.kubectlOut(ctx, "get", "pod", "-n", ns, s, "-o", "jsonpath={.status.podIP}")
		if err != nil || ip == "" {
			t.Fatalf("IP of %s: %v %q", s, err, ip)
		}
		servers[s] = ip
	}
	apply := func(yaml string) {
		t.Helper()
		if out, err := x.kubectlIn(ctx, yaml, "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatalf("apply: %v: %s\n%s", err, out, yaml)
		}
	}
	del := func(kind string, names ...string) {
		t.Helper()
		args := append([]string{"delete", "-n", ns, kind}, names...)
		if out, err := x.kubectlOut(ctx, args...); err != nil {
			t.Fatalf("delete: %v: %s", err, out)
		}
	}

	x.expect(t, ns, servers, true, "no policy")

	// Egress: default deny for the clients, then an allow rule to the servers' port.
	apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-deny-egress}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
`)
	x.expect(t, ns, servers, false, "default-deny egress on the clients")
	apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-allow-servers}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {role: server}}}]
    ports: [{protocol: TCP, port: 8080}]
`)
	x.expect(t, ns, servers, true, "egress allowed to role=server on 8080")
	del("networkpolicy", "clients-deny-egress", "clients-allow-servers")

	// Ingress: default deny on the servers, then an allow rule from the clients.
	apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: servers-deny-ingress}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
`)
	x.expect(t, ns, servers, false, "default-deny ingress on the servers")
	apply(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: servers-allow-clients}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{protocol: TCP, port: http}]
`)
	x.expect(t, ns, servers, true, "ingress allowed from role=client on the named port http")
	del("networkpolicy", "servers-deny-ingress", "servers-allow-clients")

	// Calico's own NetworkPolicy (the CRD the Kubernetes datastore stores it in, as
	// calicoctl writes it): Felix enforces it from the same datastore.
	apply(`
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: default.clients-deny-servers}
spec:
  tier: default
  order: 100
  selector: role == 'client'
  types: [Egress]
  egress:
  - action: Deny
    protocol: TCP
    destination: {selector: role == 'server', ports: [8080]}
  - action: Allow
`)
	x.expect(t, ns, servers, false, "Calico NetworkPolicy denying role=client -> role=server:8080")
	del("networkpolicies.crd.projectcalico.org", "default.clients-deny-servers")
	x.expect(t, ns, servers, true, "Calico NetworkPolicy deleted")
}
