package routeget

import (
	"slices"
	"strconv"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// With no --target, the gateways of the default routes become icmp:// targets, except an
// IPv6 link-local one, which a target cannot address without its zone, and an IPv4
// link-local one (Calico's 169.254.1.1), which nothing answers.
func TestDefaultGatewayTargets(t *testing.T) {
	a, s := netnstest.New(t, "rgA"), netnstest.New(t, "rgS")
	netnstest.Veth(t, a, "10.10.1.1/24", s, "10.10.1.2/24")
	a.IP("addr", "add", "fd00:1::1/64", "dev", "veth0", "nodad")
	a.IP("route", "add", "default", "via", "10.10.1.2")
	a.IP("-6", "route", "add", "default", "via", "fd00:1::fe", "dev", "veth0")
	a.IP("-6", "route", "add", "default", "via", "fe80::1", "dev", "veth0", "metric", "2000")
	// The target process gets its own resolv.conf, so the default DNS targets stay inside
	// the test's namespaces whatever the host's resolv.conf says.
	a.WriteEtc("resolv.conf", "nameserver 10.10.1.2\n")
	app := a.Start("sleep", "60")
	rep := a.Collect("--quiet", "--timeout", "1s", "--attempts", "1", "--burst", "0", "--pid", strconv.Itoa(app.Process.Pid))
	for _, want := range []string{"icmp://10.10.1.2", "icmp://fd00:1::fe", "tcp://10.10.1.2:53"} {
		if !slices.Contains(rep.Targets, want) {
			t.Errorf("default targets %v lack %s", rep.Targets, want)
		}
	}
	for _, tg := range rep.Targets {
		if tg == "icmp://fe80::1" {
			t.Errorf("link-local gateway offered as a target: %v", rep.Targets)
		}
	}
	var sec Section
	netnstest.Section(t, rep, Name, &sec)
	found := false
	for _, l := range sec.Lookups {
		if l.Target == "icmp://10.10.1.2" {
			found = true
			if l.Format() != "unicast dev veth0 src 10.10.1.1 table main" || l.IPProto != "" {
				t.Errorf("gateway lookup = %q (ipproto %q)", l.Format(), l.IPProto)
			}
		}
	}
	if !found {
		t.Errorf("no lookup for the gateway target: %+v", sec.Lookups)
	}
}

// Calico's gateway: default via 169.254.1.1, on-link; no host owns the address, so it is
// no ping target (its neighbour entry tells whether it answers ARP).
func TestLinkLocalGatewayIsNoTarget(t *testing.T) {
	a, s := netnstest.New(t, "rgC"), netnstest.New(t, "rgN")
	netnstest.Veth(t, a, "10.10.2.1/32", s, "10.10.2.2/24")
	a.IP("route", "add", "169.254.1.1", "dev", "veth0", "scope", "link")
	a.IP("route", "add", "default", "via", "169.254.1.1", "dev", "veth0")
	a.WriteEtc("resolv.conf", "nameserver 10.10.2.2\n")
	app := a.Start("sleep", "60")
	rep := a.Collect("--quiet", "--timeout", "1s", "--attempts", "1", "--burst", "0", "--pid", strconv.Itoa(app.Process.Pid))
	if slices.Contains(rep.Targets, "icmp://169.254.1.1") || !slices.Contains(rep.Targets, "tcp://10.10.2.2:53") {
		t.Errorf("default targets = %v, want the nameserver and no 169.254.1.1", rep.Targets)
	}
}

// A default route is there even when its only gateway is no target (Calico's): the
// regather wait, meant for a default route that was away for an instant, is then skipped
// (it cost every Calico pod 60 ms of its collect). Without any default route it waits.
func TestGatewaysTellsDefaultRouteFromNone(t *testing.T) {
	a, s := netnstest.New(t, "rgD"), netnstest.New(t, "rgE")
	netnstest.Veth(t, a, "10.10.3.1/32", s, "10.10.3.2/24")
	a.IP("route", "add", "169.254.1.1", "dev", "veth0", "scope", "link")
	env := &probe.Env{Logf: t.Logf}
	check := func(wantRouted bool) {
		t.Helper()
		var out []target.Target
		var routed bool
		if err := a.Do(func() error { out, routed = gateways(env); return nil }); err != nil {
			t.Fatal(err)
		}
		if routed != wantRouted || len(out) != 0 {
			t.Errorf("gateways() = %v, routed %v; want none, routed %v", out, routed, wantRouted)
		}
	}
	check(false)
	a.IP("route", "add", "default", "via", "169.254.1.1", "dev", "veth0")
	check(true)
}
