package cgroupbpf

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"cgroup-hybrid", "/"},
		{"cgroup-v2-nested", "/nd-fixture/a"},
		{"cgroup-outside-ns", "/../a"},
	} {
		got, ok := ParseCgroup(plugintest.Fixture(t, tc.file))
		if !ok || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.file, got, ok, tc.want)
		}
	}
	if _, ok := ParseCgroup([]byte("4:memory:/x\n1:cpu:/\n")); ok {
		t.Error("a v1-only file has no v2 path")
	}
}

func TestParseMountinfoAndResolve(t *testing.T) {
	hybrid := ParseMountinfo(plugintest.Fixture(t, "mountinfo-hybrid"))
	if len(hybrid) != 1 || hybrid[0] != (Mount{Root: "/", Point: "/sys/fs/cgroup/unified"}) {
		t.Fatalf("hybrid: %+v", hybrid)
	}
	dir, m, chain, ok := Resolve("/nd-fixture/a", hybrid)
	if !ok || dir != "/sys/fs/cgroup/unified/nd-fixture/a" || m.Point != "/sys/fs/cgroup/unified" ||
		!slices.Equal(chain, []string{"/nd-fixture/a", "/nd-fixture", "/"}) {
		t.Errorf("resolve: %q %+v %v %v", dir, m, chain, ok)
	}
	if _, _, _, ok := Resolve("/../a", hybrid); ok {
		t.Error("a path outside the cgroup namespace resolved")
	}
	// A mount of a subtree: the longest root wins, and the chain stops at its root.
	bind := ParseMountinfo(plugintest.Fixture(t, "mountinfo-bind"))
	dir, m, chain, ok = Resolve("/nd-fixture/ctr", bind)
	if !ok || dir != "/tmp/nd-cg/ctr" || m.Root != "/nd-fixture" || !slices.Equal(chain, []string{"/nd-fixture/ctr", "/nd-fixture"}) {
		t.Errorf("resolve under a bind mount: %q %+v %v %v", dir, m, chain, ok)
	}
	if _, _, _, ok := Resolve("/x", []Mount{{Root: "/nd-fixture", Point: "/c"}}); ok {
		t.Error("a cgroup outside the only mount's subtree resolved")
	}
	if got := unescape(`/a\040b`); got != "/a b" {
		t.Errorf("unescape: %q", got)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	plugintest.Seed(f, "mountinfo-hybrid", "mountinfo-bind")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range ParseMountinfo(data) {
			Resolve("/a/b", []Mount{m})
		}
	})
}

func FuzzParseCgroup(f *testing.F) {
	plugintest.Seed(f, "cgroup-hybrid", "cgroup-v2-nested", "cgroup-outside-ns")
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, ok := ParseCgroup(data); ok {
			Resolve(p, []Mount{{Root: "/", Point: "/sys/fs/cgroup"}})
		}
	})
}

// sample is a pod's section: Cilium-like programs at the root, one at the pod's own cgroup.
func sample(id uint32, extra ...Program) *Section {
	return &Section{Cgroup: "/kubepods/pod1/ctr", Mount: "/sys/fs/cgroup", Via: "mountinfo", Levels: []Level{
		{Level: "self", Path: "/kubepods/pod1/ctr", Prober: true, Programs: extra},
		{Level: "parent", Path: "/kubepods/pod1", Prober: true},
		{Level: "up2", Path: "/kubepods", Prober: true},
		{Level: "root", Path: "/", Prober: true, Programs: []Program{
			{Attach: "connect4", ID: id, Name: "cil_sock4_connect", Tag: "aa11", Type: "CGroupSockAddr", Flags: "multi"},
			{Attach: "sendmsg4", ID: id + 1, Name: "cil_sock4_sendmsg", Tag: "bb22", Type: "CGroupSockAddr", Flags: "multi"},
		}},
	}, Total: 2 + len(extra)}
}

func facts(s *Section) map[string]probe.Fact {
	m := map[string]probe.Fact{}
	for _, f := range Facts(s) {
		m[f.Key] = f
	}
	return m
}

func TestFactsKeyByHookLevelNameTag(t *testing.T) {
	fs := facts(sample(100))
	f, ok := fs["prog/connect4/root/cil_sock4_connect@aa11"]
	if !ok || f.Value != "type CGroupSockAddr flags multi" || f.Kind != probe.Exact {
		t.Errorf("connect4 fact: %+v (all: %v)", f, fs)
	}
	if id := fs["id/connect4/root/cil_sock4_connect@aa11"]; id.Kind != probe.ShowOnly || id.Value != "id 100 at /" {
		t.Errorf("id fact: %+v", id)
	}
	// Programs whose info was refused line up by their place among the hook's programs.
	s := sample(100, Program{Attach: "egress", ID: 7, Flags: "multi", Error: &report.Error{Errno: "EPERM"}},
		Program{Attach: "egress", ID: 8, Flags: "multi", Error: &report.Error{Errno: "EPERM"}})
	s.Errors = map[string]*report.Error{"info": {Errno: "EPERM", Message: errInfo}}
	fs = facts(s)
	if f := fs["prog/egress/self/#2"]; f.Value != "info unreadable (EPERM) flags multi" {
		t.Errorf("unnamed program: %+v (all %v)", f, fs)
	}
	if fs["error/info"].Value != "EPERM" {
		t.Errorf("error/info: %+v", fs["error/info"])
	}
}

func compare(t *testing.T, a, b *Section) *contract.Comparison {
	t.Helper()
	reps := []*report.Report{{Sections: map[string]json.RawMessage{}}, {Sections: map[string]json.RawMessage{}}}
	for i, s := range []*Section{a, b} {
		reps[i].Sections[Name] = plugintest.MustMarshal(t, s)
	}
	return plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)
}

func TestIDsAndPathsDoNotMakeTwinsDiffer(t *testing.T) {
	b := sample(900)
	b.Cgroup, b.Levels[0].Path, b.Levels[1].Path = "/kubepods/pod2/ctr", "/kubepods/pod2/ctr", "/kubepods/pod2"
	c := compare(t, sample(100), b)
	for _, r := range c.Rows {
		if !r.Equal && r.Kind != probe.ShowOnly {
			t.Errorf("twins differ: %s %v", r.Key, r.Values)
		}
	}
	if fs := OnlyInSome(c); len(fs) != 0 {
		t.Errorf("findings between twins: %+v", fs)
	}
}

func TestOnlyInSomeNamesTheProgramAndWhere(t *testing.T) {
	deny := Program{Attach: "connect4", ID: 55, Name: "deny_9090", Tag: "cc33", Type: "CGroupSockAddr", Flags: "multi"}
	c := compare(t, sample(100), sample(200, deny))
	fs := OnlyInSome(c)
	if len(fs) != 1 {
		t.Fatalf("want one finding, got %+v", fs)
	}
	want := "pod-b has a cgroup connect4 program `deny_9090` at its own cgroup (pod-a has no such program)"
	if f := fs[0]; f.Message != want || !strings.HasPrefix(f.Detail, "its tag is cc33; the cgroup is /kubepods/pod1/ctr; it runs on every connect()") || f.Severity != contract.High || f.Subject != "pod-b" ||
		!slices.Equal(f.Keys, []string{"cgroupbpf/prog/connect4/self/deny_9090@cc33"}) {
		t.Errorf("finding: %+v\nwant message starting %q", f, want)
	}
	// A subject that could not list programs lacks none: nothing is claimed.
	unread := &Section{Errors: map[string]*report.Error{"query": {Errno: "EPERM", Message: errQuery}}}
	if fs := OnlyInSome(compare(t, unread, sample(200, deny))); len(fs) != 0 {
		t.Errorf("an unreadable subject is said to lack programs: %+v", fs)
	}
	// The generic wording, for the subject that lacks what the other has.
	r, _ := c.Row(Name, "prog/connect4/self/deny_9090@cc33")
	if got := describeRow(c, r, 0, 1); !strings.HasPrefix(got, "pod-a lacks the cgroup connect4 program deny_9090 (tag cc33) that pod-b has attached at its own cgroup") {
		t.Errorf("describeRow: %q", got)
	}
}

func TestPathHoldsTheHooksOfTheProbe(t *testing.T) {
	deny := Program{Attach: "connect6", ID: 55, Name: "d6", Tag: "dd", Type: "CGroupSockAddr", Flags: "multi"}
	sock := Program{Attach: "sock_ops", ID: 56, Name: "ops", Tag: "ee", Type: "SockOps", Flags: "multi"}
	c := compare(t, sample(100), sample(200, deny, sock))
	n := len(c.Subjects)
	probeOf := func(proto, addrKey string, routeErr string) *contract.Probe {
		p := &contract.Probe{Proto: proto, AddrKey: addrKey, Port: 80, Addr: make([]netip.Addr, n), Route: make([]contract.RouteAnswer, n)}
		for i := range p.Route {
			p.Route[i] = contract.RouteAnswer{Known: true, Err: routeErr}
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		p     *contract.Probe
		wants []string
	}{
		{"tcp4", probeOf("tcp", "ipv4", ""), []string{"prog/connect4/root/cil_sock4_connect@aa11", "prog/sock_ops/self/ops@ee"}},
		{"udp4", probeOf("udp", "ipv4", ""), []string{"prog/connect4/root/cil_sock4_connect@aa11", "prog/sendmsg4/root/cil_sock4_sendmsg@bb22"}},
		{"tcp6", probeOf("tcp", "ipv6", ""), []string{"prog/connect6/self/d6@dd", "prog/sock_ops/self/ops@ee"}},
		{"icmp4", probeOf("icmp", "ipv4", ""), nil},
		{"route-failed", probeOf("tcp", "ipv6", "ENETUNREACH"), nil},
	} {
		got := probePath(c, tc.p, 1)
		slices.Sort(got)
		if !slices.Equal(got, tc.wants) {
			t.Errorf("%s: path %v, want %v", tc.name, got, tc.wants)
		}
	}
}

// TestPathLeavesOutTheAppsOwnLevelWhereTheProberRunsElsewhere: seen from an ephemeral
// container, the app's own cgroup is not the prober's, so its programs do not govern the
// prober's probes; the pod's and the root's do.
func TestPathLeavesOutTheAppsOwnLevelWhereTheProberRunsElsewhere(t *testing.T) {
	deny := Program{Attach: "connect4", ID: 55, Name: "deny", Tag: "cc", Type: "CGroupSockAddr", Flags: "multi"}
	b := sample(200, deny)
	b.Levels[0].Prober = false
	c := compare(t, sample(100), b)
	p := &contract.Probe{Proto: "tcp", AddrKey: "ipv4", Port: 80, Addr: make([]netip.Addr, 2), Route: make([]contract.RouteAnswer, 2)}
	got := probePath(c, p, 1)
	if !slices.Equal(got, []string{"prog/connect4/root/cil_sock4_connect@aa11"}) {
		t.Errorf("path %v, want the root's connect4 program only", got)
	}
}

func TestInferRefusal(t *testing.T) {
	eperm := func(detail string) *contract.Probe {
		return &contract.Probe{Proto: "tcp", AddrKey: "ipv4", Port: 9090, Target: "tcp://<peer>:9090",
			Detail: []string{"ok 2/2", detail}, Route: []contract.RouteAnswer{{Known: true}, {Known: true}}}
	}
	// Same code in both pods: the root's connect4 program is named, with its maps.
	c := compare(t, sample(100), sample(200))
	f := inferRefusal(c, eperm("EPERM 2/2 (immediate)"), 1, []int{0})
	if f == nil || f.Rule != "cgroupbpf/refused-connect" || !strings.Contains(f.Message, "cgroup connect4 program cil_sock4_connect (tag aa11) at the cgroup root /, the same code as in pod-a") ||
		strings.Contains(f.Message, "sendmsg4") || !slices.Equal(f.Keys, []string{"cgroupbpf/prog/connect4/root/cil_sock4_connect@aa11"}) {
		t.Errorf("same code: %+v", f)
	}
	// Other errnos, a failed route lookup: not a program's refusal.
	for _, p := range []*contract.Probe{eperm("ETIMEDOUT 2/2"), eperm("ECONNREFUSED 2/2")} {
		if f := inferRefusal(c, p, 1, []int{0}); f != nil {
			t.Errorf("%s: %+v", p.Detail[1], f)
		}
	}
	udp := eperm("EPERM 2/2")
	udp.Proto = "udp" // a netfilter DROP fails a UDP send with EPERM too
	if f := inferRefusal(c, udp, 1, []int{0}); f != nil {
		t.Errorf("udp: %+v", f)
	}
	p := eperm("EPERM 2/2")
	p.Route[1].Err = "ENETUNREACH"
	if f := inferRefusal(c, p, 1, []int{0}); f != nil {
		t.Errorf("route failed: %+v", f)
	}
	// Unlisted programs: what would list them.
	unread := &Section{Errors: map[string]*report.Error{"query": {Errno: "EPERM", Message: errQuery}}}
	c = compare(t, unread, unread)
	if f := inferRefusal(c, eperm("EPERM 2/2"), 1, []int{0}); f == nil || !strings.Contains(f.Message, "--profile netadmin") {
		t.Errorf("unlisted: %+v", f)
	}
	// Listed, and no program on the path: nothing to infer.
	c = compare(t, &Section{Levels: []Level{{Level: "self", Path: "/", Prober: true}}}, &Section{Levels: []Level{{Level: "self", Path: "/", Prober: true}}})
	if f := inferRefusal(c, eperm("EPERM 2/2"), 1, []int{0}); f != nil {
		t.Errorf("no program: %+v", f)
	}
}
