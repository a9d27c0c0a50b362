package nodeside

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all/cluster" // the pod section, as kubectl-netdiff has it
)

// Sections read by the prober in the local cluster's node netdiff-a, with Felix enforcing
// a NetworkPolicy canary-ports (egress: only UDP/TCP 53 and TCP 8080) that selects web-b
// and web-b2 (role=canary) and not web-a (role=stable); each pod tried db:5432 once.
func felixReports(t *testing.T, names ...string) []*report.Report {
	t.Helper()
	var out []*report.Report
	for _, n := range names {
		out = append(out, &report.Report{Sections: map[string]json.RawMessage{Name: plugintest.Fixture(t, "felix-"+n+".json")}})
	}
	return out
}

func TestFelixFacts(t *testing.T) {
	facts := map[string]map[string]string{}
	for _, n := range []string{"web-a", "web-b"} {
		facts[n] = plugintest.Facts(t, Name, felixReports(t, n)[0])
	}
	plugintest.CheckFacts(t, facts, [][3]string{
		{"web-a", "felix/ipv4/egress/policies", "none"},
		{"web-b", "felix/ipv4/egress/policies", "tier default: cali-po-__UichnCz9QdGnsmhL_L"},
		{"web-a", "felix/ipv4/egress/profiles", "kns.<namespace>, ksa.<namespace>.default"},
		{"web-b", "felix/ipv4/egress/profiles", "kns.<namespace>, ksa.<namespace>.default"},
		{"web-b", "felix/ipv4/ingress/policies", "none"},
	})
	if v, ok := facts["web-b"]["felix/ipv4/egress/drop/end of tier default"]; !ok || v == "0" {
		t.Errorf("web-b's end-of-tier drop = %q, want the packets Felix dropped", v)
	}
	for k := range facts["web-a"] {
		if strings.Contains(k, "/drop/") {
			t.Errorf("web-a's chain dropped nothing, yet it has %s = %s", k, facts["web-a"][k])
		}
	}
	for _, f := range facts {
		for k, v := range f {
			if strings.Contains(k+v, "cali-fw-cali") || strings.Contains(k+v, "cali-tw-cali") {
				t.Errorf("a pod's own chain name in a fact: %s = %s", k, v)
			}
		}
	}
}

// Twins: two pods the same policy selects, both dropped at the end of the tier, line up.
func TestFelixTwinsLineUp(t *testing.T) {
	c := plugintest.Compare(t, Name, []string{"web-b", "web-b2"}, felixReports(t, "web-b", "web-b2"))
	n := 0
	for _, r := range c.Rows {
		if strings.HasPrefix(r.Key, "felix/") {
			n++
			if !r.Equal {
				t.Errorf("twins' row %s differs: %q", r.Key, r.Values)
			}
		}
	}
	if n < 4 {
		t.Errorf("%d Felix rows, want the policies, profiles and drops of both directions", n)
	}
	if got := felixVerdict(c); len(got) != 0 {
		t.Errorf("twins: %v", got)
	}
}

// The verdict: web-b's chain dropped its packets at the end of tier default, after the
// policy chain; without the pod section the chain is named by Felix's own comment.
func TestFelixVerdict(t *testing.T) {
	c := plugintest.Compare(t, Name, []string{"web-a", "web-b"}, felixReports(t, "web-a", "web-b"))
	fs := felixVerdict(c)
	if len(fs) != 1 {
		t.Fatalf("findings %v, want one about web-b's egress", fs)
	}
	f := fs[0]
	t.Log(f.Message)
	if f.Subject != "web-b" || f.Severity != contract.Critical {
		t.Errorf("finding about %q, %v; want web-b, critical", f.Subject, f.Severity)
	}
	for _, want := range []string{"Felix's chain cali-fw-calia56395a82ef", "web-b's ipv4 egress", "at the end of tier default",
		"cali-po-__UichnCz9QdGnsmhL_L = Felix's policy calico-h3-scratch/knp.default.canary-ports (egress)", "web-a's chain: policies none, 0 packets dropped"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if got := plugintest.EngineFindings(t, Name, []string{"web-a", "web-b"}, felixReports(t, "web-a", "web-b")); got["nodeside/felix"] != 1 {
		t.Errorf("through the engine: %v", got)
	}
}

// dependsOn folds the chain's difference under the pod section's denial by the policy
// that the chain implements, and under no other.
func TestFelixDependsOn(t *testing.T) {
	c := plugintest.Compare(t, Name, []string{"web-a", "web-b"}, felixReports(t, "web-a", "web-b"))
	chain := "cali-po-__UichnCz9QdGnsmhL_L"
	pod := func(key string, eq bool, a, b string) contract.Row {
		return contract.Row{Section: podSection, Key: key, Equal: eq, Values: []string{a, b}, Missing: []bool{a == "", b == ""}}
	}
	row := func(key string) contract.Row {
		r, ok := c.Row(Name, key)
		if !ok {
			t.Fatalf("no row %s", key)
		}
		return r
	}
	base := c.Rows
	for _, tc := range []struct {
		name string
		pod  []contract.Row
		want string
	}{
		{"the denying policy is the chain's", []contract.Row{
			pod(podFelixChain+chain, true, "NetworkPolicy calico-h3-scratch/canary-ports (egress)", "NetworkPolicy calico-h3-scratch/canary-ports (egress)"),
			pod(podDenies+"egress/NetworkPolicy calico-h3-scratch/canary-ports", false, "", "tcp://10.244.0.4:5432/ipv4"),
		}, "pod/policy-denies/egress/NetworkPolicy calico-h3-scratch/canary-ports"},
		{"another policy denies", []contract.Row{
			pod(podFelixChain+chain, true, "NetworkPolicy calico-h3-scratch/canary-ports (egress)", "NetworkPolicy calico-h3-scratch/canary-ports (egress)"),
			pod(podDenies+"egress/NetworkPolicy calico-h3-scratch/other", false, "", "tcp://10.244.0.4:5432/ipv4"),
		}, ""},
		{"a denial at ingress", []contract.Row{
			pod(podFelixChain+chain, true, "NetworkPolicy calico-h3-scratch/canary-ports (egress)", "NetworkPolicy calico-h3-scratch/canary-ports (egress)"),
			pod(podDenies+"ingress/NetworkPolicy calico-h3-scratch/canary-ports", false, "", "tcp://10.244.0.4:5432/ipv4"),
		}, ""},
	} {
		c.Rows = append(append([]contract.Row(nil), base...), tc.pod...)
		for _, key := range []string{"felix/ipv4/egress/policies", "felix/ipv4/egress/drop/end of tier default"} {
			got := strings.Join(dependsOn(c, row(key), 1).Rows, ",")
			if got != tc.want {
				t.Errorf("%s: %s depends on %q, want %q", tc.name, key, got, tc.want)
			}
		}
	}
}

// The pod section's rows read here, by name (docs/sections/pod.md), made by the pod
// plugin as registered (a build without it skips).
func TestPodRowsPinned(t *testing.T) {
	if _, ok := probe.Lookup(podSection); !ok {
		t.Skip("no pod plugin in this build (hack/without-plugins.sh)")
	}
	raw := []byte(`{"node":"n1","namespace":"shop","policySpecs":[{"namespace":"shop","name":"canary-ports","spec":{"podSelector":{}}}]}`)
	facts := plugintest.Facts(t, podSection, &report.Report{Sections: map[string]json.RawMessage{podSection: raw}})
	if facts[podNodeRow] != "n1" {
		t.Errorf("pod row %q = %q", podNodeRow, facts[podNodeRow])
	}
	if got := facts[podFelixChain+"cali-po-_xgBve3N7wJfrwcUW6o2"]; got == "" {
		t.Errorf("no %s row for shop/canary-ports in %v", podFelixChain, facts)
	}
}

// A policy that selects one pod and dropped nothing of it is context, and its chain is on
// no probe's path (web-b's section with every counter zeroed: the same chains, no drop).
func TestFelixPolicyWithoutDropsIsContext(t *testing.T) {
	reps := felixReports(t, "web-a", "web-b")
	var s Section
	if err := json.Unmarshal(reps[1].Sections[Name], &s); err != nil {
		t.Fatal(err)
	}
	for i := range s.Felix.Chains {
		for j := range s.Felix.Chains[i].Rules {
			s.Felix.Chains[i].Rules[j].Packets, s.Felix.Chains[i].Rules[j].Bytes = 0, 0
		}
	}
	reps[1].Sections[Name] = plugintest.MustMarshal(t, &s)
	c := plugintest.Compare(t, Name, []string{"web-a", "web-b"}, reps)
	fs := felixVerdict(c)
	if len(fs) != 1 || fs[0].Kind != contract.Context || fs[0].Subject != "web-b" {
		t.Fatalf("findings %+v, want one context finding about web-b", fs)
	}
	if !strings.Contains(fs[0].Message, "jumps to the policy chains cali-po-__UichnCz9QdGnsmhL_L") || !strings.Contains(fs[0].Message, "dropped nothing") {
		t.Errorf("message: %s", fs[0].Message)
	}
	for _, r := range c.Rows {
		if !r.Equal && strings.HasPrefix(r.Key, "felix/") && onPath(r.Key) {
			t.Errorf("%s differs and is on the path of every probe", r.Key)
		}
	}
}
