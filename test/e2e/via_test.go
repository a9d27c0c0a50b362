//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

	// The same node pod also reads the node side, asked for or not.
	both := viaNode
	for _, p := range []string{"via-a", "via-b"} {
		b, err := os.ReadFile(filepath.Join(both, ns+"_"+p+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Via      string                     `json:"via"`
			Sections map[string]json.RawMessage `json:"sections"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Via != "node" || len(rep.Sections["nodeside"]) < 10 {
			t.Errorf("%s: --via node --node-side: via %q, nodeside section %d bytes", p, rep.Via, len(rep.Sections["nodeside"]))
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
			case !row.Equal && row.Section != "cgroupbpf" && row.Section != "nodeside" && row.Key != "section/nodeside":
				// The node pod also reads the node side (the ephemeral run does not).
				t.Errorf("%s: %s %s differs between the modes: %v", p, row.Section, row.Key, row.Values)
			}
		}
		if !strings.Contains(via, "node") {
			t.Errorf("%s: the report does not say it was taken via the node (via row %q)", p, via)
		}
		for _, f := range doc.Findings {
			if f.Rule != "netns/shared" && !strings.HasPrefix(f.Rule, "cgroupbpf/") && // one pod: both reports are of its namespace
				!(f.Rule == "report/section-absent" && strings.Contains(f.Message, "nodeside")) { // only the node pod reads the node side
				t.Errorf("%s: finding %s: %s", p, f.Rule, f.Message)
			}
		}
	}
}

// SIGINT at any moment of a --via node run, the node pods' Create requests included,
// ends it promptly with the interrupted status and leaves no node pod behind: a pod the
// server made although its Create was cut off is deleted by the name netdiff gave it.
func TestInterruptDuringNodePodCreate(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	cs, _ := x.clients(t)
	var worst time.Duration
	for _, delay := range []time.Duration{50, 120, 200, 300, 450, 700} {
		delay *= time.Millisecond
		r := x.startNetdiff(t, "-n", ns, "via-a", "via-b", "--via", "node", "--timeout", "60s")
		time.Sleep(delay)
		sent := time.Now()
		if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		res := r.wait(t, 25*time.Second)
		took := time.Since(sent)
		worst = max(worst, took)
		t.Logf("SIGINT %s into the run: exit %d after %s", delay, res.code, took.Round(time.Millisecond))
		// On a loaded machine the first SIGINT can land before the plugin has installed
		// its handler (package init of the Kubernetes client takes tens of ms): then the
		// signal's default action ends it, before it could have created anything; the
		// node pod check below still holds it to leaving nothing behind.
		early := false
		if ps := r.cmd.ProcessState; ps != nil {
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
				early = true
				t.Logf("SIGINT %s into the run: ended by the signal itself, before its handler was installed", delay)
			}
		}
		if res.code < 2 && !early {
			t.Errorf("SIGINT %s into the run: exit %d, want the interrupted status", delay, res.code)
		}
		if took > 1500*time.Millisecond { // at most 0.7s of it waits for a Create cut off in flight
			t.Errorf("SIGINT %s into the run: returned after %s", delay, took.Round(time.Millisecond))
		}
		// Deletes are sent before the plugin exits; the pods may still be terminating.
		list, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: inject.LabelManagedBy + "=" + inject.ManagedBy})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				t.Errorf("SIGINT %s into the run: node pod %s left behind", delay, p.Name)
			}
		}
	}
	t.Logf("slowest return after SIGINT: %s", worst.Round(time.Millisecond))
}
