//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The pods of one app (-l): the broken one is an odd one out, and those findings lead.
func TestSelectorFlagsTheOddOneOut(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "-l", "app=web", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	for _, want := range []string{"web-a", "web-b", "web-broken"} {
		if !strings.Contains(strings.Join(d.Subjects, ","), want) {
			t.Errorf("subjects %v lack %s", d.Subjects, want)
		}
	}
	// The diagnosis leads with an odd pod's cause; the odd-one-out findings say who is odd.
	if len(d.Findings) == 0 || d.Findings[0].Kind != "cause" || (d.Findings[0].Subject != "web-broken" && d.Findings[0].Subject != "web-rejected") {
		t.Fatalf("the findings do not start with a cause in an odd pod: %+v", d.Findings)
	}
	named := false
	for _, f := range d.Findings {
		named = named || f.Rule == "diff/odd-one-out" && strings.HasPrefix(f.Message, "odd one out: web-broken ")
	}
	if !named {
		t.Errorf("web-broken is not called the odd one out: %+v", d.Findings)
	}
	for _, f := range d.Findings {
		if f.Rule == "diff/odd-one-out" && (strings.Contains(f.Message, "odd one out: web-a ") || strings.Contains(f.Message, "odd one out: web-b ")) {
			t.Errorf("a healthy replica is called odd: %s", f.Message)
		}
	}
}

// One pod against a fresh reference pod on the same node: the reference shows what a clean
// pod has (a default route), and is deleted afterwards.
func TestReferencePodComparesAndCleansUp(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-broken", "--reference", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	if len(d.Subjects) != 2 || d.Subjects[0] != "web-broken" || d.Subjects[1] != "reference" {
		t.Errorf("subjects = %v, want web-broken and reference", d.Subjects)
	}
	found := false
	for _, f := range d.Findings {
		found = found || f.Rule == "routes/no-default-route" && strings.Contains(f.Message, "web-broken")
	}
	if !found {
		t.Errorf("no routes/no-default-route finding for web-broken against its reference:\n%s", clip(r.stdout))
	}
	if !strings.Contains(r.stderr, "created reference pod") || !strings.Contains(r.stderr, "deleted reference pod") {
		t.Errorf("stderr does not say the reference pod was created and deleted:\n%s", r.stderr)
	}
	x.wantNoReferencePods(t)

	r = x.netdiff(t, "-n", x.nsA, "web-a", "--reference", "--keep-reference")
	if r.code >= 2 {
		t.Fatalf("--keep-reference: exit %d\n%s", r.code, r.stderr)
	}
	left, _ := x.kubectlOut(context.Background(), "get", "pods", "-n", x.nsA, "-l", "app.kubernetes.io/managed-by=kubectl-netdiff", "-o", "name")
	if strings.TrimSpace(left) == "" {
		t.Fatal("--keep-reference deleted the reference pod")
	}
	x.kubectlOut(context.Background(), "delete", "-n", x.nsA, "--wait=false", strings.Fields(left)[0])
}

// Ctrl-C while the reference is being set up or probed still deletes it.
func TestReferencePodDeletedOnInterrupt(t *testing.T) {
	x := need(t)
	args := []string{"-n", x.nsA, "web-a", "--reference", "--window", "10s", "--timeout", "60s"}
	if x.image != "" {
		args = append(args, "--image", x.image)
	}
	cmd := exec.Command(x.plugin, args...)
	cmd.Env = x.environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	created := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && strings.Contains(sc.Text(), "created reference pod") {
				created <- true
				sent = true
			}
		}
		if !sent {
			created <- false
		}
	}()
	select {
	case ok := <-created:
		if !ok {
			cmd.Wait()
			t.Fatal("netdiff ended without creating a reference pod")
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no reference pod after 60s")
	}
	// Interrupt while the reference pod settles or is being probed.
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("netdiff did not return within 20s of SIGINT")
	}
	t.Logf("returned %s after SIGINT, exit %d", time.Since(start).Round(time.Millisecond), cmd.ProcessState.ExitCode())
	if cmd.ProcessState.ExitCode() < 2 {
		t.Errorf("interrupted run exits %d, want >= 2", cmd.ProcessState.ExitCode())
	}
	x.wantNoReferencePods(t)
}

func (x *env) wantNoReferencePods(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := x.kubectlOut(context.Background(), "get", "pods", "-n", x.nsA, "-l", "app.kubernetes.io/managed-by=kubectl-netdiff", "-o", "name")
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reference pods left behind: %s %v", out, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// --node-side through the command: healthy twins still diff clean and carry the section.
func TestNodeSideThroughTheCommand(t *testing.T) {
	x := need(t)
	x.nodeSideTwinsClean(t, x.nsA, "web-a", "web-b")
}

// nodeSideTwinsClean runs twins with --node-side: exit 0, nodeside rows about the pods'
// veths, and no node pod left behind.
func (x *env) nodeSideTwinsClean(t *testing.T, ns, a, b string) {
	t.Helper()
	r := x.netdiff(t, "-n", ns, a, b, "--node-side", "--all", "-o", "json")
	r.want(t, 0)
	d := parseDiff(t, r)
	veth := false
	for _, row := range d.Rows {
		veth = veth || row.Section == "nodeside" && strings.Contains(row.Key, "<pod-veth>")
	}
	if !veth {
		t.Errorf("no nodeside rows about the pods' veths:\n%s", clip(r.stdout))
	}
	left, _ := x.kubectlOut(context.Background(), "get", "pods", "-n", ns, "-l", "app.kubernetes.io/managed-by=kubectl-netdiff", "-o", "name")
	if strings.TrimSpace(left) != "" {
		t.Errorf("node pods left behind: %s", left)
	}
}
