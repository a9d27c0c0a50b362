package dnsconfig

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

// TestUnprivilegedProberSaysWhy: uid 65534 may not enter root's /proc/PID/root; every
// file says EACCES, not "missing".
func TestUnprivilegedProberSaysWhy(t *testing.T) {
	ns := netnstest.New(t, "nobody")
	pid := startTarget(t, ns)
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
	cmd := ns.Command(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		prober, "collect", "--quiet", "--target", "10.199.7.1:80", "--pid", strconv.Itoa(pid))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	rep, err := report.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	var s Section
	netnstest.Section(t, rep, "dnsconfig", &s)
	for name, f := range map[string]File{"resolv.conf": s.ResolvConf.File, "hosts": s.Hosts.File, "nsswitch": s.Nsswitch.File, "gai.conf": s.Gai.File} {
		if f.Error.Name() != "EACCES" {
			t.Errorf("%s: error %v, want EACCES", name, f.Error)
		}
	}
}
