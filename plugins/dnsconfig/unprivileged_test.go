package dnsconfig

import (
	"strconv"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

// TestUnprivilegedProberSaysWhy: uid 65534 may not enter root's /proc/PID/root; every
// file says EACCES, not "missing".
func TestUnprivilegedProberSaysWhy(t *testing.T) {
	ns := netnstest.New(t, "nobody")
	pid := startTarget(t, ns)
	rep := ns.CollectAsNobody("--quiet", "--target", "10.199.7.1:80", "--pid", strconv.Itoa(pid))
	var s Section
	netnstest.Section(t, rep, "dnsconfig", &s)
	for name, f := range map[string]File{"resolv.conf": s.ResolvConf.File, "hosts": s.Hosts.File, "nsswitch": s.Nsswitch.File, "gai.conf": s.Gai.File} {
		if f.Error.Name() != "EACCES" {
			t.Errorf("%s: error %v, want EACCES", name, f.Error)
		}
	}
}
