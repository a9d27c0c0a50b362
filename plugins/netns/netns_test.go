package netns

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestRealNamespaces: two reports from one namespace share it; a report whose target
// PID lives in another namespace says the prober is outside it.
func TestRealNamespaces(t *testing.T) {
	a, b := netnstest.New(t, "nsa"), netnstest.New(t, "nsb")
	pidA := a.Start("sleep", "60").Process.Pid
	pidB := b.Start("sleep", "60").Process.Pid

	reps := []*report.Report{
		a.Collect("--quiet", "--pid", fmt.Sprint(pidA)),
		a.Collect("--quiet", "--pid", fmt.Sprint(pidA)),
		b.Collect("--quiet", "--pid", fmt.Sprint(pidA)),
	}
	var s0, s2 Section
	netnstest.Section(t, reps[0], Name, &s0)
	netnstest.Section(t, reps[2], Name, &s2)
	if s0.SameNetns == nil || !*s0.SameNetns || s0.Target["net"].Inode == 0 || s0.Target["pid"].Error != nil || s0.BootID == "" {
		t.Fatalf("prober in a, target in a: %+v", s0)
	}
	if s2.SameNetns == nil || *s2.SameNetns || s2.Self.Inode == s0.Self.Inode {
		t.Fatalf("prober in b, target in a: %+v", s2)
	}

	c := plugintest.Compare(t, Name, []string{"pod-a", "pod-a-sidecar", "pod-b"}, reps)
	rows := plugintest.RowMap(c)
	if r := rows["prober-in-target-netns"]; r.Equal || strings.Join(r.Values, ",") != "true,true,false" {
		t.Errorf("prober-in-target-netns row = %+v", r)
	}
	shared := Shared(c)
	// pod-b's prober reads the target's namespace (a's), so all three describe one world.
	if len(shared) != 1 || !strings.HasPrefix(shared[0].Message, fmt.Sprintf("pod-a, pod-a-sidecar and pod-b share one network namespace (inode %d)", s0.Target["net"].Inode)) {
		t.Errorf("shared findings = %+v", shared)
	}
	if e := plugintest.EngineFindings(t, Name, []string{"pod-a", "pod-a-sidecar", "pod-b"}, reps); e["netns/shared"] != 1 || e["netns/prober-outside-target"] != 1 {
		t.Errorf("engine findings = %v", e)
	}
	outside := ProberOutsideTarget(c)
	if len(outside) != 1 || !strings.HasPrefix(outside[0].Message, "the prober for pod-b is not in the target's network namespace") {
		t.Errorf("outside findings = %+v", outside)
	}

	// Two namespaces, each probed from inside: nothing shared.
	c2 := plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, []*report.Report{reps[0], b.Collect("--quiet", "--pid", fmt.Sprint(pidB))})
	if fs := append(Shared(c2), ProberOutsideTarget(c2)...); len(fs) != 0 {
		t.Errorf("findings for two separate namespaces: %+v", fs)
	}
}
