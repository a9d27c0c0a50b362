//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
)

// --via node probes two pods without touching them: their ephemeral containers stay
// none, the node pods are gone afterwards, and twins are silent. Then the same pods are
// probed the ephemeral way (--profile netadmin, so netfilter is readable there too), and
// each pod's two reports diff as equal: the node pod sees what an ephemeral container
// sees, apart from what only its privileges show (docs/usage.md): the names and tags of
// cgroup BPF programs, which need CAP_SYS_ADMIN.
func TestViaNode(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	for _, p := range []string{"via-a", "via-b"} {
		if n := len(x.ephemerals(t, ns, p)); n != 0 {
			t.Fatalf("%s has %d ephemeral containers before the test", p, n)
		}
	}
	viaNode := t.TempDir()
	r := x.netdiff(t, "-n", ns, "via-a", "via-b", "--via", "node", "--save", viaNode)
	t.Logf("--via node: exit %d in %s\n%s", r.code, r.took, clip(r.stdout))
	r.want(t, 0)
	for _, p := range []string{"via-a", "via-b"} {
		if eph := x.ephemerals(t, ns, p); len(eph) != 0 {
			t.Errorf("%s: --via node added ephemeral containers %v", p, eph)
		}
	}
	cs, _ := x.clients(t)
	left, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: inject.LabelManagedBy + "=" + inject.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range left.Items {
		if p.DeletionTimestamp == nil {
			t.Errorf("node pod %s left behind", p.Name)
		}
	}

	ephemeral := t.TempDir()
	x.netdiff(t, "-n", ns, "via-a", "via-b", "--profile", "netadmin", "--save", ephemeral).want(t, 0)
	for _, p := range []string{"via-a", "via-b"} {
		file := ns + "_" + p + ".json"
		r := x.netdiff(t, "-f", filepath.Join(ephemeral, file), "-f", filepath.Join(viaNode, file), "-o", "json", "--all")
		var doc struct {
			Rows []struct {
				Section, Key string
				Equal        bool
				Values       []string
			} `json:"rows"`
			Findings []struct{ Rule, Message string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, clip(r.stdout))
		}
		via := ""
		for _, row := range doc.Rows {
			switch {
			case row.Section == "report" && row.Key == "via":
				via = strings.Join(row.Values, " ")
			case !row.Equal && row.Section != "cgroupbpf":
				t.Errorf("%s: %s %s differs between the modes: %v", p, row.Section, row.Key, row.Values)
			}
		}
		if !strings.Contains(via, "node") {
			t.Errorf("%s: the report does not say it was taken via the node (via row %q)", p, via)
		}
		for _, f := range doc.Findings {
			if f.Rule != "netns/shared" && !strings.HasPrefix(f.Rule, "cgroupbpf/") { // one pod: both reports are of its namespace
				t.Errorf("%s: finding %s: %s", p, f.Rule, f.Message)
			}
		}
	}
}

