package process

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// collectAsNobody runs the real prober as uid 65534 without capabilities, the way a
// restricted ephemeral container runs it, against a target process owned by root.
func collectAsNobody(t *testing.T, ns *netnstest.NS, args ...string) *report.Report {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(netnstest.Prober(t))
	if err != nil {
		t.Fatal(err)
	}
	prober := filepath.Join(dir, "netdiff-prober")
	if err := os.WriteFile(prober, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", prober, "collect", "--quiet"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("prober as nobody: %v\n%s", err, errOut.String())
	}
	rep, err := report.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestUnprivilegedProberSaysWhy: a prober that may not look into the target says so with
// the kernel's errno for each refused item, and still reports what it can.
func TestUnprivilegedProberSaysWhy(t *testing.T) {
	ns := netnstest.New(t, "nobody")
	pid := ns.Start("sleep", "300").Process.Pid
	waitExec(t, pid, "sleep")
	rep := collectAsNobody(t, ns, "--target", "10.199.7.1:80", "--pid", strconv.Itoa(pid))
	var s Section
	netnstest.Section(t, rep, "process", &s)
	tg := s.Target
	if tg.Error != nil || tg.Comm != "sleep" {
		t.Fatalf("status is world-readable, the target must be there: %+v", tg)
	}
	for _, item := range []string{"environ", "exe", "fd"} {
		if tg.Errors[item] != "EACCES" {
			t.Errorf("%s: error %q, want EACCES (errors %v)", item, tg.Errors[item], tg.Errors)
		}
	}
	if tg.Env != nil || len(tg.CapEff) == 0 {
		t.Errorf("env %v must be absent, capabilities (from status) present: %v", tg.Env, tg.CapEff)
	}
	if tg.LdSoPreload == nil || tg.LdSoPreload.Error.Name() != "EACCES" {
		t.Errorf("ld.so.preload through an unreadable root: %+v", tg.LdSoPreload)
	}
}
