// Package clusterguard tests the stopped-cluster guard of hack/cluster (guard.sh): with
// the local cluster down, nothing reaches its addresses through the default route.
package clusterguard

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

// guard runs one function of hack/cluster/guard.sh (after env.sh) inside ns, with RUN
// a temporary directory: the shared cluster's state and the machine's routes are never
// touched.
func guard(t *testing.T, ns *netnstest.NS, run, fn string) string {
	t.Helper()
	dir, err := filepath.Abs("../../hack/cluster")
	if err != nil {
		t.Fatal(err)
	}
	// As up.sh and down.sh run them: under set -euo pipefail.
	return ns.Exec("env", "NETDIFF_CLUSTER_DIR="+run, "bash", "-c", `set -euo pipefail; . "$1/env.sh"; . "$1/guard.sh"; `+fn, "guard", dir)
}

// dial connects to the apiserver's address from inside ns.
func dial(t *testing.T, ns *netnstest.NS) error {
	t.Helper()
	var err error
	if doErr := ns.Do(func() error {
		var c net.Conn
		c, err = net.DialTimeout("tcp", "10.99.0.1:6443", 300*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return nil
	}); doErr != nil {
		t.Fatal(doErr)
	}
	return err
}

// A namespace shaped like the machine: a default route through a "router" namespace
// (standing in for the uplink). Without the guard the apiserver's address is routed
// out through it; with the guard, a connect fails at once with EHOSTUNREACH, no packet
// leaves, and the kubeconfigs are gone; guard_off (up.sh) restores the route lookup.
func TestStoppedClusterGuard(t *testing.T) {
	host, router := netnstest.New(t, "gdhost"), netnstest.New(t, "gdrtr")
	netnstest.Veth(t, host, "192.0.2.1/24", router, "192.0.2.2/24")
	host.IP("route", "add", "default", "via", "192.0.2.2")
	run := t.TempDir()
	for _, f := range []string{"admin.kubeconfig", "kube-proxy.kubeconfig"} {
		if err := os.WriteFile(filepath.Join(run, f), []byte("server: https://10.99.0.1:6443\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if got := host.IP("route", "get", "10.99.0.1"); !strings.Contains(got, "via 192.0.2.2") {
		t.Fatalf("without the guard the address should go out the default route: %s", got)
	}
	guard(t, host, run, "guard_on")
	for _, addr := range []string{"10.99.0.1", "10.99.0.254", "10.244.1.7", "10.96.0.1", "10.96.0.10"} {
		out, err := host.Command(t.Context(), "ip", "route", "get", addr).CombinedOutput()
		if err == nil && !strings.Contains(string(out), "unreachable") {
			t.Errorf("guarded: ip route get %s = %s, want unreachable", addr, out)
		}
	}
	start := time.Now()
	err := dial(t, host)
	if !errors.Is(err, syscall.EHOSTUNREACH) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("guarded: connect to the apiserver = %v after %s, want EHOSTUNREACH at once", err, time.Since(start))
	}
	if m, _ := filepath.Glob(filepath.Join(run, "*.kubeconfig")); len(m) != 0 {
		t.Errorf("guarded: kubeconfigs left usable: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(run, "*.kubeconfig.stopped")); len(m) != 2 {
		t.Errorf("guarded: kubeconfigs not kept aside: %v", m)
	}
	guard(t, host, run, "guard_on") // down.sh is safe to rerun

	guard(t, host, run, "guard_off")
	if got := host.IP("route", "get", "10.99.0.1"); !strings.Contains(got, "via 192.0.2.2") {
		t.Errorf("after guard_off the guard routes are still there: %s", got)
	}
	// guard_off removes only the guard's routes, not an unreachable route of another owner,
	// and with no guard on (a new machine) it has nothing to do and succeeds.
	host.IP("route", "add", "unreachable", "10.244.0.0/16")
	guard(t, host, run, "guard_off")
	if got := host.IP("route", "show", "type", "unreachable"); !strings.Contains(got, "10.244.0.0/16") {
		t.Errorf("guard_off removed a route it did not add: %q", got)
	}
}
