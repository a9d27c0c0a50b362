//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// Policy faults (issue 27): between two otherwise identical pods, one NetworkPolicy (or
// Calico policy) decides that a probe fails in one of them; the first finding must be the
// cause naming the policy and why, and explain the failing probes. They need a cluster
// that enforces policies (Felix): enforcement is checked once, with a default-deny
// ingress policy, and without it every case is skipped with the reason.

const npFixture = `
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":5432"], ports: [{containerPort: 5432, name: pg}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web, role: stable}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"], ports: [{containerPort: 8080, name: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web, role: canary}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"], ports: [{containerPort: 8080, name: http}]}
`

// The twin of web-a in a namespace labelled team=none.
const npOtherFixture = `
apiVersion: v1
kind: Pod
metadata: {name: web-c, labels: {app: web, role: stable}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"], ports: [{containerPort: 8080, name: http}]}
`

type npWorld struct {
	ns, other string
	dbIP      string // the db pod's address
	svcIP     string // Service db's ClusterIP
	webA      string
	webB      string
	enforced  bool
	why       string
}

var (
	npOnce sync.Once
	np     npWorld
	npErr  error
)

func (x *env) applyText(ctx context.Context, ns, text string) error {
	m := strings.NewReplacer("${NODE}", x.node, "${APP_IMAGE}", x.appImage).Replace(text)
	args := []string{"apply", "-f", "-"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	if out, err := x.kubectlIn(ctx, m, args...); err != nil {
		return fmt.Errorf("apply in %s: %v: %s", ns, err, out)
	}
	return nil
}

// reaches reports whether pod can connect to addr ("10.244.0.5 8080") within a few
// seconds (busybox nc: the image's static busybox wget crashes).
func (x *env) reaches(ctx context.Context, ns, pod, addr string) bool {
	_, err := x.kubectlExec(ctx, ns, pod, "app", "sh", "-c", "echo | nc -w 3 "+addr+" >/dev/null")
	return err == nil
}

// until polls reaches until it equals want (policies take a moment to be programmed).
func (x *env) until(ctx context.Context, ns, pod, url string, want bool, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for {
		if x.reaches(ctx, ns, pod, url) == want {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(time.Second)
	}
}

// policyWorld makes the fixtures once and finds out whether policies are enforced.
func (x *env) policyWorld(t *testing.T) npWorld {
	t.Helper()
	npOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if np.ns, npErr = x.namespace(ctx, "netdiff-e2e-np", map[string]string{"team": "shop"}); npErr != nil {
			return
		}
		if np.other, npErr = x.namespace(ctx, "netdiff-e2e-np-other", map[string]string{"team": "none"}); npErr != nil {
			return
		}
		if npErr = x.applyText(ctx, np.ns, npFixture); npErr != nil {
			return
		}
		if npErr = x.applyText(ctx, np.other, npOtherFixture); npErr != nil {
			return
		}
		if npErr = x.waitReady(ctx, np.ns, "db", "web-a", "web-b"); npErr != nil {
			return
		}
		if npErr = x.waitReady(ctx, np.other, "web-c"); npErr != nil {
			return
		}
		np.dbIP, _ = x.kubectlOut(ctx, "get", "pod", "-n", np.ns, "db", "-o", "jsonpath={.status.podIP}")
		np.svcIP, _ = x.kubectlOut(ctx, "get", "service", "-n", np.ns, "db", "-o", "jsonpath={.spec.clusterIP}")
		np.webA, _ = x.kubectlOut(ctx, "get", "pod", "-n", np.ns, "web-a", "-o", "jsonpath={.status.podIP}")
		np.webB, _ = x.kubectlOut(ctx, "get", "pod", "-n", np.ns, "web-b", "-o", "jsonpath={.status.podIP}")
		url := np.dbIP + " 5432"
		if !x.until(ctx, np.ns, "web-b", url, true, 20*time.Second) {
			npErr = fmt.Errorf("web-b cannot reach db before any policy: the fixture is broken")
			return
		}
		// The enforcement check: a default-deny ingress policy on db.
		if npErr = x.applyText(ctx, np.ns, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: enforcement-check}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n"); npErr != nil {
			return
		}
		np.enforced = x.until(ctx, np.ns, "web-b", url, false, 15*time.Second)
		np.why = "the cluster does not enforce NetworkPolicies: a default-deny ingress policy on db left web-b's connects to it working for 15 s (the local cluster enforces them once Felix runs, issue 27 part 1)"
		_, _ = x.kubectlOut(ctx, "delete", "networkpolicy", "-n", np.ns, "enforcement-check")
		if np.enforced && !x.until(ctx, np.ns, "web-b", url, true, 20*time.Second) {
			npErr = fmt.Errorf("deleting the enforcement-check policy did not restore web-b's connects to db")
		}
	})
	if npErr != nil {
		t.Fatalf("policy fixtures: %v", npErr)
	}
	if !np.enforced {
		t.Skip(np.why)
	}
	return np
}

type policyCase struct {
	name     string
	policy   string // applied in np.ns (or cluster-wide for a Calico global policy)
	a, b     string // the two pods: "NS/NAME"
	failing  string // the pod whose probe the policy drops, and that probe's URL
	url      string
	targets  []string
	subject  string   // the failing subject as netdiff names it
	want     []string // in the first finding's message
	calicoGV string   // a Calico kind: skip where the cluster does not serve it
	cleanup  []string // kubectl delete args
}

func TestPolicyCauses(t *testing.T) {
	x := need(t)
	w := x.policyWorld(t)
	db := "tcp://" + w.svcIP + ":5432"
	dbURL := w.dbIP + " 5432"
	cases := []policyCase{
		{
			name: "egress default deny that forgets DNS",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-lockdown}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{protocol: TCP, port: 5432}]`,
			a: "web-a", b: "web-b", failing: "web-b", url: w.webA + " 8080", subject: "web-b",
			want: []string{"NetworkPolicy " + w.ns + "/canary-lockdown", "selects pods with role=canary for egress", "web-b has role=canary (web-a: role=stable)", "forgets DNS"},
		},
		{
			name: "egress ports: only 53 and 8080 admitted",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-ports}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}, {protocol: TCP, port: 8080}]`,
			a: "web-a", b: "web-b", failing: "web-b", url: dbURL, targets: []string{db}, subject: "web-b",
			want: []string{"NetworkPolicy " + w.ns + "/canary-ports", "admits only UDP 53, TCP 53, TCP 8080 to anywhere", "(Service " + w.ns + "/db)"},
		},
		{
			name: "ingress at the destination admits only role=stable",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: stable}}}]
    ports: [{protocol: TCP, port: 5432}]`,
			a: "web-a", b: "web-b", failing: "web-b", url: dbURL, targets: []string{db}, subject: "web-b",
			want: []string{"NetworkPolicy " + w.ns + "/db-ingress", "admits only TCP 5432 from pods with role=stable", "web-b has role=canary (web-a: role=stable)", "at the destination's ingress"},
		},
		{
			name: "namespace selector at the destination",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: shop}}}]`,
			a: "web-a", b: w.other + "/web-c", failing: w.other + "/web-c", url: dbURL, targets: []string{db}, subject: w.other + "/web-c",
			want: []string{"NetworkPolicy " + w.ns + "/db-from-shop", "pods in namespaces with team=shop", "namespace has team=none", "team=shop"},
		},
		{
			name: "ipBlock with except at egress",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-except-db}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [` + w.dbIP + `/32]}}]`,
			a: "web-a", b: "web-b", failing: "web-b", url: dbURL, targets: []string{db}, subject: "web-b",
			want: []string{"NetworkPolicy " + w.ns + "/canary-except-db", "0.0.0.0/0 except " + w.dbIP + "/32", "web-b has role=canary"},
		},
		{
			name: "ingress at the peer: web-a may not reach web-b",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-from-canary}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: canary}}}]`,
			a: "web-a", b: "web-b", failing: "web-a", url: "", subject: "web-a",
			want: []string{"NetworkPolicy " + w.ns + "/canary-from-canary", "it selects the destination, pod " + w.ns + "/web-b"},
		},
		{
			name:     "Calico GlobalNetworkPolicy denies the canary",
			calicoGV: "globalnetworkpolicies.crd.projectcalico.org",
			policy: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default.netdiff-e2e-deny-canary-db}
spec:
  order: 10
  selector: "app == 'db' && projectcalico.org/namespace == '` + w.ns + `'"
  types: [Ingress]
  ingress:
  - {action: Deny, protocol: TCP, source: {selector: "role == 'canary'"}}
  - {action: Allow}`,
			a: "web-a", b: "web-b", failing: "web-b", url: dbURL, targets: []string{db}, subject: "web-b",
			want:    []string{"Calico GlobalNetworkPolicy default.netdiff-e2e-deny-canary-db (order 10) denies ingress with rule 1", "web-b has role=canary (web-a: role=stable)"},
			cleanup: []string{"delete", "globalnetworkpolicies.crd.projectcalico.org", "default.netdiff-e2e-deny-canary-db", "--ignore-not-found"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			if tc.calicoGV != "" {
				if out, err := x.kubectlOut(ctx, "get", tc.calicoGV); err != nil {
					t.Skipf("the cluster does not serve %s: %s", tc.calicoGV, out)
				}
			}
			ns := w.ns
			if tc.calicoGV != "" {
				ns = ""
			}
			if err := x.applyText(ctx, ns, tc.policy); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				args := tc.cleanup
				if args == nil {
					args = []string{"delete", "-n", w.ns, "networkpolicy", "--all"}
				}
				_, _ = x.kubectlOut(context.Background(), args...)
			})
			failNS, failPod := w.ns, tc.failing
			if a, b, ok := strings.Cut(tc.failing, "/"); ok {
				failNS, failPod = a, b
			}
			url := tc.url
			if url == "" { // the peer: web-b's app port
				url = w.webB + " 8080"
			}
			if !x.until(ctx, failNS, failPod, url, false, 20*time.Second) {
				t.Fatalf("the policy did not stop %s reaching %s within 20 s", tc.failing, url)
			}
			args := []string{"-n", w.ns, tc.a, tc.b, "-o", "json"}
			for _, tg := range tc.targets {
				args = append(args, "--target", tg)
			}
			r := x.netdiff(t, args...)
			r.want(t, 1)
			d := parseDiff(t, r)
			top := d.Findings[0]
			t.Logf("first finding: %s %s %s: %s", top.Kind, top.Rule, top.Subject, top.Message)
			if top.Kind != "cause" || !strings.HasPrefix(top.Rule, "pod/") || top.Subject != tc.subject {
				t.Fatalf("first finding = %s %s about %q, want the pod section's cause about %s\n%s", top.Kind, top.Rule, top.Subject, tc.subject, clip(r.stdout))
			}
			for _, want := range tc.want {
				if !strings.Contains(top.Message+" "+top.Detail, want) {
					t.Errorf("the cause does not say %q:\n%s\n%s\n%s", want, top.Message, top.Detail, clip(r.stdout))
					break
				}
			}
			if len(top.Explains) == 0 {
				t.Errorf("the cause explains no symptom:\n%s", clip(r.stdout))
			}
			for _, f := range d.Findings {
				if f.Kind == "cause" && f.ID != top.ID && strings.HasPrefix(f.Rule, "pod/") && len(f.Explains) > 0 {
					t.Errorf("a second policy cause for one fault: %s", f.Message)
				}
			}
		})
	}
}

// Two pods selected by the same policy, with the same outcome, stay silent about it.
func TestPolicyTwinsStaySilent(t *testing.T) {
	x := need(t)
	w := x.policyWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := x.applyText(ctx, w.ns, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-no-db}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}, {protocol: TCP, port: 8080}]\n"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = x.kubectlOut(context.Background(), "delete", "-n", w.ns, "networkpolicy", "web-no-db") })
	if !x.until(ctx, w.ns, "web-a", w.dbIP+" 5432", false, 20*time.Second) {
		t.Fatal("the policy did not stop web-a reaching db")
	}
	// With the node side, the twins' Felix chains (the same policy chain, both dropping
	// at the end of the tier) line up as equal rows.
	for _, extra := range [][]string{nil, {"--node-side", "--all"}} {
		args := append([]string{"-n", w.ns, "web-a", "web-b", "--target", "tcp://" + w.svcIP + ":5432", "-o", "json"}, extra...)
		r := x.netdiff(t, args...)
		d := parseDiff(t, r)
		for _, f := range d.Findings {
			if strings.Contains(f.Message, "NetworkPolicy") || strings.Contains(f.Message, "Felix") {
				t.Errorf("twins under one policy %v: %s %s: %s", extra, f.Kind, f.Rule, f.Message)
			}
		}
		felixRows := 0
		for _, row := range d.Rows {
			if row.Section == "nodeside" && strings.HasPrefix(row.Key, "felix/") {
				felixRows++
				if !row.Equal {
					t.Errorf("twins' Felix row %s differs: %v", row.Key, row.Values)
				}
			}
		}
		if len(extra) > 0 && felixRows == 0 {
			t.Errorf("no Felix rows with --node-side --all: the node side did not read Felix's chains")
		}
	}
}

// The node's evidence (issue 27 part 3): with --node-side, Felix's chains for the failing
// pod's veth are facts on its node's half. The cause stays the policy; what Felix's chain
// did (it jumps to the policy's chain, named back to the policy, and dropped the probe's
// packets at the end of the tier) is folded under it, never a second top-level cause.
func TestPolicyCausesNodeSide(t *testing.T) {
	x := need(t)
	w := x.policyWorld(t)
	db := "tcp://" + w.svcIP + ":5432"
	dbURL := w.dbIP + " 5432"
	cases := []struct {
		name, policy, policyName, url string
		targets                       []string
	}{
		{
			name:       "egress default deny that forgets DNS",
			policyName: "canary-lockdown-ns",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-lockdown-ns}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{protocol: TCP, port: 5432}]`,
			url: w.webA + " 8080",
		},
		{
			name:       "egress ports",
			policyName: "canary-ports-ns",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-ports-ns}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}, {protocol: TCP, port: 8080}]`,
			url: dbURL, targets: []string{db},
		},
		{
			name:       "ipBlock with except",
			policyName: "canary-except-db-ns",
			policy: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-except-db-ns}
spec:
  podSelector: {matchLabels: {role: canary}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [` + w.dbIP + `/32]}}]`,
			url: dbURL, targets: []string{db},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			if err := x.applyText(ctx, w.ns, tc.policy); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = x.kubectlOut(context.Background(), "delete", "-n", w.ns, "networkpolicy", tc.policyName, "--ignore-not-found")
			})
			if !x.until(ctx, w.ns, "web-b", tc.url, false, 20*time.Second) {
				t.Fatalf("the policy did not stop web-b reaching %s within 20 s", tc.url)
			}
			args := []string{"-n", w.ns, "web-a", "web-b", "--node-side", "-o", "json"}
			for _, tg := range tc.targets {
				args = append(args, "--target", tg)
			}
			r := x.netdiff(t, args...)
			r.want(t, 1)
			d := parseDiff(t, r)
			top := d.Findings[0]
			t.Logf("first finding: %s %s %s: %s", top.Kind, top.Rule, top.Subject, top.Message)
			if top.Kind != "cause" || !strings.HasPrefix(top.Rule, "pod/") || top.Subject != "web-b" {
				t.Fatalf("first finding = %s %s about %q, want the pod section's policy cause about web-b\n%s", top.Kind, top.Rule, top.Subject, clip(r.stdout))
			}
			if !strings.Contains(top.Message, "NetworkPolicy `"+w.ns+"/"+tc.policyName+"`") {
				t.Errorf("the cause does not name the policy:\n%s", top.Message)
			}
			// Issue 31's NetworkPolicy kind: the headline's words held, the cluster's
			// addresses and the namespace written alike on every cluster.
			plugintest.GoldenHeadline(t, "netpol-"+strings.ReplaceAll(tc.name, " ", "-"), contract.Finding{
				Message: clusterNeutral(top.Message, w.ns), Effect: clusterNeutral(top.Effect, w.ns)})
			named := "= NetworkPolicy " + w.ns + "/" + tc.policyName + " (egress)"
			var felix []string
			for _, f := range d.Findings {
				if f.Rule != "nodeside/felix" {
					continue
				}
				felix = append(felix, f.ID)
				t.Logf("node evidence (%s, consequence of %q): %s", f.ID, f.ConsequenceOf, f.Message)
				if f.ConsequenceOf != top.ID {
					t.Errorf("Felix's verdict is not folded under the policy cause %s: consequence of %q", top.ID, f.ConsequenceOf)
				}
				for _, want := range []string{"Felix's chain cali-fw-", "on node " + x.node, "dropped", "at the end of tier default", named} {
					if !strings.Contains(f.Message, want) {
						t.Errorf("the node's evidence does not say %q:\n%s", want, f.Message)
					}
				}
			}
			if len(felix) == 0 {
				t.Errorf("no finding from Felix's chains with --node-side\n%s", clip(r.stdout))
			}
			if !slices.ContainsFunc(felix, func(id string) bool { return slices.Contains(top.Consequences, id) }) {
				t.Errorf("the policy cause lists no consequence from Felix's chains: %v", top.Consequences)
			}
			for _, f := range d.Findings {
				if f.Kind == "cause" && f.ID != top.ID && f.ConsequenceOf == "" && len(f.Explains) > 0 {
					t.Errorf("a second top-level cause: %s %s: %s", f.Rule, f.Subject, f.Message)
				}
			}
		})
	}
}

// A policy that selects one pod and changes none of its probes' outcomes is context, with
// the node side too: Felix's chain for that pod jumps to the policy's chain (a difference
// between the pods' node sides) and drops nothing, which is no cause.
func TestPolicyWithoutEffectIsContext(t *testing.T) {
	x := need(t)
	w := x.policyWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const name = "canary-egress-open"
	if err := x.applyText(ctx, w.ns, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: "+name+"}\nspec:\n  podSelector: {matchLabels: {role: canary}}\n  policyTypes: [Egress]\n  egress:\n  - {}\n"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = x.kubectlOut(context.Background(), "delete", "-n", w.ns, "networkpolicy", name) })
	var d diffJSON
	programmed := false
	// Felix programs the policy's chain within a second or two: the node side shows when.
	for try := 0; try < 5 && !programmed; try++ {
		r := x.netdiff(t, "-n", w.ns, "web-a", "web-b", "--target", "tcp://"+w.svcIP+":5432", "--node-side", "--all", "-o", "json")
		d = parseDiff(t, r)
		for _, row := range d.Rows {
			if row.Section == "nodeside" && row.Key == "felix/ipv4/egress/policies" && len(row.Values) == 2 && fmt.Sprint(row.Values[1]) != "none" {
				programmed = true
			}
		}
		if !programmed {
			time.Sleep(2 * time.Second)
		}
	}
	if !programmed {
		t.Fatalf("web-b's Felix chain never jumped to a policy chain")
	}
	sawContext := false
	for _, f := range d.Findings {
		if f.Rule == "nodeside/felix" {
			t.Logf("%s %s: %s", f.Kind, f.Rule, f.Message)
			sawContext = sawContext || f.Kind == "context"
		}
		if f.Kind != "context" && (strings.Contains(f.Message, "NetworkPolicy") || strings.Contains(f.Message, "Felix")) {
			t.Errorf("a policy that changes nothing named as a %s: %s: %s", f.Kind, f.Rule, f.Message)
		}
	}
	if !sawContext {
		t.Errorf("no context finding from Felix's chains for the policy selecting web-b only")
	}
}

var ipv4 = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// clusterNeutral writes a cluster's addresses and a test namespace alike on every cluster.
func clusterNeutral(s, ns string) string {
	return ipv4.ReplaceAllString(strings.ReplaceAll(s, ns, "NS"), "A.B.C.D")
}
