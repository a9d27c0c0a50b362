package interfaces

import (
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestPlantedInterfaceDifferences runs the real prober in two namespaces that differ in
// MTU, a down link, IPv6 and a tentative address, and checks report, facts and findings.
func TestPlantedInterfaceDifferences(t *testing.T) {
	a, b := netnstest.New(t, "ifa"), netnstest.New(t, "ifb")
	netnstest.Veth(t, a, "10.71.0.1/24", b, "10.71.0.2/24")
	b.IP("link", "set", "veth0", "mtu", "1400")
	for _, ns := range []*netnstest.NS{a, b} {
		ns.IP("link", "add", "side0", "type", "veth", "peer", "name", "side1")
	}
	a.IP("link", "set", "side0", "up")
	a.IP("link", "set", "side1", "up")
	a.IP("addr", "add", "fd71::1/64", "dev", "veth0", "nodad")
	// A down link never finishes DAD, so its IPv6 address stays tentative for as long as we look.
	b.IP("addr", "add", "fd72::2/64", "dev", "side0")

	waitDAD(t, a)
	waitDAD(t, b, "side0")
	reps := []*report.Report{a.Collect("--quiet"), b.Collect("--quiet")}
	var sa, sb Section
	netnstest.Section(t, reps[0], Name, &sa)
	netnstest.Section(t, reps[1], Name, &sb)

	if in := find(&sb, "veth0"); in == nil || in.MTU != 1400 || in.Type != "veth" || in.PeerIndex == 0 {
		t.Fatalf("b veth0 = %+v, want veth with mtu 1400 and a peer index", in)
	}
	if in := find(&sa, "veth0"); in == nil || in.MTU != 1500 || len(in.Addrs) == 0 {
		t.Fatalf("a veth0 = %+v, want mtu 1500 with addresses", in)
	}
	if in := find(&sa, "lo"); in == nil || in.Type != "loopback" {
		t.Errorf("lo = %+v", in)
	}
	if in := find(&sb, "side0"); in == nil || in.Type != "veth" || isUp(in) || !strings.Contains(addrList(in.Addrs, "ipv6"), "fd72::2/64 global tentative") {
		t.Errorf("b side0 = %+v, want a down veth with a tentative address", in)
	}

	c := plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)
	rows := map[string]contract.Row{}
	for _, r := range c.Rows {
		rows[r.Key] = r
	}
	if r := rows["veth0/mtu"]; r.Equal || r.Values[0] != "1500" || r.Values[1] != "1400" {
		t.Errorf("veth0/mtu row = %+v", r)
	}
	// Own addresses and MACs normalise away, so the IPv4 address rows line up.
	if r := rows["veth0/addrs/ipv4"]; !r.Equal || r.Values[0] != "<self>/24 global" {
		t.Errorf("veth0/addrs/ipv4 row = %+v, want equal after normalisation", r)
	}
	if r := rows["veth0/mac"]; !r.Equal {
		t.Errorf("veth0/mac row = %+v, want equal after normalisation", r)
	}

	var findings []contract.Finding
	for _, rule := range []string{"mtu-differs", "down", "ipv6-one-only", "dad"} {
		findings = append(findings, diff.RunRule(Name+"/"+rule, c)...)
	}
	want := map[string]string{
		"interfaces/mtu-differs":   "pod-a 1500, pod-b 1400",
		"interfaces/down":          "side0 is down in pod-b",
		"interfaces/ipv6-one-only": "pod-a (veth0 fd71::1/64) have global IPv6",
		"interfaces/dad":           "pod-b: address fd72::2/64 on side0 is still tentative",
	}
	for rule, text := range want {
		found := false
		for _, f := range findings {
			if f.Rule == rule && strings.Contains(f.Message, text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s finding containing %q; findings: %+v", rule, text, findings)
		}
	}
	if e := plugintest.EngineFindings(t, Name, []string{"pod-a", "pod-b"}, reps); e["interfaces/mtu-differs"] != 1 || e["interfaces/down"] != 2 || e["interfaces/ipv6-one-only"] != 1 || e["interfaces/dad"] != 1 {
		t.Errorf("engine findings = %v", e)
	}
	// side1 is down in pod-b as well: one finding per link.
	if len(findings) != len(want)+1 {
		t.Errorf("got %d findings, want %d: %+v", len(findings), len(want)+1, findings)
	}
}

func TestDADFailedOnDuplicateAddress(t *testing.T) {
	a, b := netnstest.New(t, "dada"), netnstest.New(t, "dadb")
	netnstest.Veth(t, a, "", b, "")
	a.IP("addr", "add", "fd73::7/64", "dev", "veth0", "nodad")
	b.IP("addr", "add", "fd73::7/64", "dev", "veth0")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.IP("-6", "addr", "show", "dev", "veth0"), "dadfailed") {
		if time.Now().After(deadline) {
			t.Fatal("kernel never marked the duplicate address dadfailed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	reps := []*report.Report{a.Collect("--quiet"), b.Collect("--quiet")}
	var found bool
	for _, f := range DAD(plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)) {
		if f.Severity == contract.High && strings.Contains(f.Message, "pod-b: address fd73::7/64 on veth0 failed duplicate address detection") {
			found = true
		}
	}
	if !found {
		t.Errorf("no dadfailed finding for pod-b: %s", reps[1].Sections[Name])
	}
}

// waitDAD waits until no address is tentative any more, except on the links named in
// keep (down links, whose DAD never runs): link-local addresses of a link just brought
// up are tentative for about a second, and the test must not race them.
func waitDAD(t *testing.T, ns *netnstest.NS, keep ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending := ""
		for _, line := range strings.Split(ns.IP("-6", "-o", "addr", "show", "tentative"), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && !contains(keep, f[1]) {
				pending += line + "\n"
			}
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("addresses in %s still tentative:\n%s", ns.Name, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
