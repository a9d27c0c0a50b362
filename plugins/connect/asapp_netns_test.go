package connect_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/plugins/connect"
	"github.com/netdiff/kubectl-netdiff/plugins/routeget"
)

// appPods builds two "pods" on a node's bridge (10.66.0.1, gateway of both) with a
// "service" 10.67.0.1:8080 on the node, and in each pod an app process running as uid
// 1000 gid 1000 (a sleep). Both pods have table 100 with only an unreachable default,
// which no rule uses unless plant adds one.
func appPods(t *testing.T, label string) (a, b *netnstest.NS, apps [2]string) {
	t.Helper()
	node := netnstest.New(t, label+"n")
	node.IP("link", "add", "br0", "type", "bridge")
	node.IP("addr", "add", "10.66.0.1/24", "dev", "br0")
	node.IP("link", "set", "br0", "up")
	node.IP("addr", "add", "10.67.0.1/32", "dev", "lo")
	node.ListenTCP("10.67.0.1:8080")
	pods := [2]*netnstest.NS{}
	for k, cidr := range []string{"10.66.0.5/24", "10.66.0.6/24"} {
		ns := netnstest.New(t, fmt.Sprintf("%sp%d", label, k))
		host := fmt.Sprintf("nda%d%s%d", os.Getpid()%100000, label[:1], k)
		if out, err := exec.Command("ip", "link", "add", host, "netns", node.Name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name).CombinedOutput(); err != nil {
			t.Fatalf("veth: %v: %s", err, out)
		}
		node.IP("link", "set", host, "master", "br0", "up")
		ns.Exec("sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad")
		ns.IP("addr", "add", cidr, "dev", "eth0")
		ns.IP("link", "set", "eth0", "up")
		ns.IP("route", "add", "default", "via", "10.66.0.1")
		ns.IP("route", "add", "unreachable", "default", "table", "100")
		ns.WriteEtc("resolv.conf", "nameserver 10.67.0.1\n")
		pods[k] = ns
		apps[k] = startApp(t, ns, 1000)
	}
	return pods[0], pods[1], apps
}

// startApp starts a sleep as uid (gid the same, no other groups) inside ns and waits
// until the kernel shows it with that uid.
func startApp(t *testing.T, ns *netnstest.NS, uid int) string {
	t.Helper()
	id := strconv.Itoa(uid)
	pid := ns.Start("setpriv", "--reuid="+id, "--regid="+id, "--clear-groups", "sleep", "300").Process.Pid
	status := fmt.Sprintf("/proc/%d/status", pid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(status)
		if strings.Contains(string(b), "Name:\tsleep\n") && strings.Contains(string(b), "\nUid:\t"+id+"\t"+id+"\t") {
			return strconv.Itoa(pid)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app (pid %d) does not run sleep as uid %d: %s", pid, uid, b)
		}
	}
}

const appTarget = "tcp://10.67.0.1:8080"

func collectApps(t *testing.T, a, b *netnstest.NS, apps [2]string) []*report.Report {
	t.Helper()
	reps := make([]*report.Report, 2)
	var wg sync.WaitGroup
	for k, ns := range []*netnstest.NS{a, b} {
		wg.Go(func() {
			reps[k] = ns.Collect("-q", "--pid", apps[k], "--target", appTarget, "--attempts", "3", "--burst", "3", "--timeout", "2s")
		})
	}
	wg.Wait()
	if reps[0] == nil || reps[1] == nil {
		t.FailNow()
	}
	return reps
}

func section(t *testing.T, rep *report.Report) *connect.Section {
	t.Helper()
	var s connect.Section
	netnstest.Section(t, rep, connect.Name, &s)
	return &s
}

// asAppRun returns the sequential run of a method as the app for the target, or nil.
func asAppRun(s *connect.Section, method string) *connect.MethodResult {
	if s.AsApp == nil {
		return nil
	}
	for _, tr := range s.AsApp.Targets {
		if tr.Target != appTarget || len(tr.Addresses) != 1 {
			continue
		}
		if method == connect.Blocking {
			return tr.Addresses[0].Blocking
		}
		return tr.Addresses[0].Nonblocking
	}
	return nil
}

func rootRun(s *connect.Section, method string) *connect.MethodResult {
	for _, tr := range s.Targets {
		if tr.Target == appTarget && len(tr.Addresses) == 1 {
			if method == connect.Blocking {
				return tr.Addresses[0].Blocking
			}
			return tr.Addresses[0].Nonblocking
		}
	}
	return nil
}

// TestUIDRangeRuleFailsOnlyTheApp is the case of an app that fails where a debug pod (root)
// works: in pod-b a policy rule `uidrange 1000-1000 lookup 100` sends the app's traffic to
// a table whose only route is unreachable. The prober's connects as root work in both
// pods; its connects as the app (uid 1000) fail in pod-b only, and the first finding is
// the rule, named with the uid.
func TestUIDRangeRuleFailsOnlyTheApp(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b, apps := appPods(t, "aa")
	b.IP("rule", "add", "uidrange", "1000-1000", "lookup", "100", "prio", "100")
	reps := collectApps(t, a, b, apps)
	sa, sb := section(t, reps[0]), section(t, reps[1])

	for k, s := range []*connect.Section{sa, sb} {
		if s.AsApp == nil || s.AsApp.Identity == nil || s.AsApp.Identity.UID != 1000 || s.AsApp.Identity.GID != 1000 || s.AsApp.Error != nil || s.AsApp.Skipped != "" {
			t.Fatalf("pod %d: asApp = %+v", k, s.AsApp)
		}
		for _, m := range []string{connect.Blocking, connect.Nonblocking} {
			if r := rootRun(s, m); r == nil || r.Sequential.OK != r.Sequential.Attempts || r.Sequential.Attempts != 3 {
				t.Errorf("pod %d: %s as root = %+v, want ok 3/3", k, m, r)
			}
		}
	}
	for _, m := range []string{connect.Blocking, connect.Nonblocking} {
		if r := asAppRun(sa, m); r == nil || r.Sequential.OK != 3 {
			t.Errorf("pod-a: %s as the app = %+v, want ok 3/3", m, r)
		}
		r := asAppRun(sb, m)
		if r == nil || r.Sequential.OK != 0 || len(r.Sequential.Errors) != 1 || r.Sequential.Errors[0].Errno != "EHOSTUNREACH" {
			t.Errorf("pod-b: %s as the app = %+v, want EHOSTUNREACH every time", m, r)
		}
	}

	// The route lookup asked as uid 1000 (RTA_UID) takes the rule in pod-b only.
	for k, want := range []string{"unicast", "EHOSTUNREACH"} {
		var rg routeget.Section
		netnstest.Section(t, reps[k], routeget.Name, &rg)
		if rg.AsApp == nil || rg.AsApp.UID != 1000 || len(rg.AsApp.Lookups) != 1 || !strings.HasPrefix(rg.AsApp.Lookups[0].Format(), want) {
			t.Errorf("pod %d: routeget as the app = %+v, want %s", k, rg.AsApp, want)
		}
		if len(rg.Lookups) != 1 || !strings.HasPrefix(rg.Lookups[0].Format(), "unicast") {
			t.Errorf("pod %d: routeget as root = %+v, want unicast", k, rg.Lookups)
		}
	}

	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	t.Logf("diff:\n%s", out.String())
	top := res.Findings[0]
	names := regexp.MustCompile(`pod-b.*uidrange 1000-1000.*lookup 100.*uid 1000`)
	if top.Kind != contract.Cause || top.Subject != "pod-b" || !names.MatchString(top.Message+" "+top.Detail) {
		t.Fatalf("first finding is not the uidrange rule with the app's uid:\n%s", out.String())
	}
	var explained []string
	for _, f := range res.Findings {
		if f.Kind == contract.Symptom && slices.Contains(f.ExplainedBy, top.ID) {
			explained = append(explained, f.Rule)
			if !strings.Contains(f.Message, "as the app (uid 1000)") && !strings.Contains(f.Message, "-as-app") {
				t.Errorf("a symptom of the rule is not the connect as the app: %s", f.Message)
			}
		}
	}
	if !slices.Contains(explained, "connect/fails-as-app") || !slices.Contains(explained, "routeget/lookup-fails") {
		t.Errorf("the rule explains %v, not connect/fails-as-app:\n%s", explained, out.String())
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
}

// TestAppTwinsAreSilent: the same pair without the rule. Both apps run as uid 1000, their
// connects as the app work, and the diff finds nothing.
func TestAppTwinsAreSilent(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b, apps := appPods(t, "at")
	reps := collectApps(t, a, b, apps)
	for k := range reps {
		s := section(t, reps[k])
		if r := asAppRun(s, connect.Nonblocking); r == nil || r.Sequential.OK != 3 {
			t.Errorf("pod %d: non-blocking as the app = %+v, want ok 3/3", k, r)
		}
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		// The test's namespaces share the host's PID namespace: the process list is the
		// host's, which other work changes between the two collects.
		if f.Rule == "process/list" {
			continue
		}
		t.Errorf("finding between twins: %s %s: %s", f.Kind, f.Rule, f.Message)
	}
}

// TestAsAppNotRun: an app running as root gets no probes of its own (the section says
// why), and a prober without CAP_SETUID/CAP_SETGID says what it lacks instead of failing.
func TestAsAppNotRun(t *testing.T) {
	netnstest.RequireRoot(t)
	ns := netnstest.New(t, "anr")
	ns.IP("addr", "add", "10.68.0.1/32", "dev", "lo")
	ns.ListenTCP("10.68.0.1:8080")
	rootApp := startApp(t, ns, 0)
	app := startApp(t, ns, 1000)
	args := []string{"-q", "--target", "10.68.0.1:8080", "--attempts", "1", "--burst", "0", "--timeout", "1s"}

	s := section(t, ns.Collect(append(args, "--pid", rootApp)...))
	if s.AsApp == nil || s.AsApp.Identity == nil || s.AsApp.Identity.UID != 0 || !strings.Contains(s.AsApp.Skipped, "uid 0") || len(s.AsApp.Targets) != 0 {
		t.Errorf("root app: asApp = %+v, want skipped for uid 0", s.AsApp)
	}
	rep := ns.CollectAs([]string{"setpriv", "--inh-caps=-setuid,-setgid", "--bounding-set=-setuid,-setgid"}, append(args, "--pid", app)...)
	s = section(t, rep)
	if s.AsApp == nil || s.AsApp.Error == nil || !strings.Contains(s.AsApp.Error.Message, "CAP_SETUID and CAP_SETGID") || len(s.AsApp.Targets) != 0 {
		t.Errorf("no CAP_SETUID: asApp = %+v, want an error naming the capabilities", s.AsApp)
	}
	if len(s.Targets) != 1 || s.Targets[0].Addresses[0].Nonblocking.Sequential.OK != 1 {
		t.Errorf("no CAP_SETUID: root's connects = %+v, want them to run", s.Targets)
	}
	s = section(t, ns.Collect(append(args, "--pid", app, "--as-app=false")...))
	if s.AsApp != nil {
		t.Errorf("--as-app=false: asApp = %+v", s.AsApp)
	}
}

// TestOwnerMatchFailsOnlyTheApp: in pod-b a netfilter rule rejects the TCP traffic of
// uid 1000 (`-m owner --uid-owner 1000`, an nftables `meta skuid 1000`). Root's connects
// work in both pods; the app's fail in pod-b, and the first finding is that rule.
func TestOwnerMatchFailsOnlyTheApp(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b, apps := appPods(t, "ao")
	b.Exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "8080", "-m", "owner", "--uid-owner", "1000",
		"-j", "REJECT", "--reject-with", "icmp-net-unreachable")
	reps := collectApps(t, a, b, apps)
	if r := asAppRun(section(t, reps[1]), connect.Nonblocking); r == nil || r.Sequential.OK != 0 || r.Sequential.Errors[0].Errno != "ENETUNREACH" {
		t.Errorf("pod-b: non-blocking as the app = %+v, want ENETUNREACH every time", r)
	}
	if r := rootRun(section(t, reps[1]), connect.Nonblocking); r == nil || r.Sequential.OK != 3 {
		t.Errorf("pod-b: non-blocking as root = %+v, want ok 3/3", r)
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	top := res.Findings[0]
	names := regexp.MustCompile(`pod-b.*--dport 8080.*--uid-owner 1000.*REJECT`)
	if top.Kind != contract.Cause || !names.MatchString(top.Message) || !slices.ContainsFunc(res.Findings, func(f contract.Finding) bool {
		return f.Rule == "connect/fails-as-app" && slices.Contains(f.ExplainedBy, top.ID)
	}) {
		t.Fatalf("first finding is not the owner-match rule explaining the failure as the app:\n%s", out.String())
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
}

// TestAppUIDDiffers: the same policy rule (uidrange 1000-1000 to the unreachable table)
// in both pods, but pod-a's app runs as root and pod-b's as uid 1000: only pod-b's app
// fails, and what differs is who the app is. The first finding names the uid.
func TestAppUIDDiffers(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b, apps := appPods(t, "au")
	apps[0] = startApp(t, a, 0)
	for _, ns := range []*netnstest.NS{a, b} {
		ns.IP("rule", "add", "uidrange", "1000-1000", "lookup", "100", "prio", "100")
	}
	reps := collectApps(t, a, b, apps)
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	t.Logf("diff:\n%s", out.String())
	top := res.Findings[0]
	if top.Kind != contract.Cause || top.Subject != "pod-b" || !strings.Contains(top.Message, "1000") || len(top.Explains) == 0 {
		t.Fatalf("first finding is not a cause naming the app's uid 1000:\n%s", out.String())
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
}
