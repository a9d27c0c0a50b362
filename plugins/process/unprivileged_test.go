package process

import (
	"strconv"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

// TestUnprivilegedProberSaysWhy: a prober that may not look into the target says so with
// the kernel's errno for each refused item, and still reports what it can.
func TestUnprivilegedProberSaysWhy(t *testing.T) {
	ns := netnstest.New(t, "nobody")
	pid := ns.Start("sleep", "300").Process.Pid
	waitExec(t, pid, "sleep")
	rep := ns.CollectAsNobody("--quiet", "--target", "10.199.7.1:80", "--pid", strconv.Itoa(pid))
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
