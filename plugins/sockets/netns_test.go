package sockets

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"

	// The diff learns each namespace's own addresses from the interfaces section.
	_ "github.com/netdiff/kubectl-netdiff/plugins/interfaces"
)

var (
	holderOnce sync.Once
	holderDir  string
	holderErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if holderDir != "" {
		os.RemoveAll(holderDir)
	}
	os.Exit(code)
}

// holder builds testdata/holder once and returns a link to it called name: the kernel
// takes a process's comm from the name it was executed by, so each role gets its own owner.
func holder(t *testing.T, name string) string {
	t.Helper()
	holderOnce.Do(func() {
		holderDir, holderErr = os.MkdirTemp("", "netdiff-sockets-holder-")
		if holderErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(holderDir, "holder"), "./testdata/holder")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			holderErr = err
			t.Logf("%s", out)
		}
	})
	if holderErr != nil {
		t.Fatalf("build holder: %v", holderErr)
	}
	p := filepath.Join(holderDir, name)
	if _, err := os.Lstat(p); err != nil {
		if err := os.Symlink("holder", p); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// hold runs a holder role inside ns until it has opened its sockets; it is killed at cleanup.
func hold(t *testing.T, ns *netnstest.NS, name string, args ...string) int {
	t.Helper()
	cmd := ns.Command(context.Background(), append([]string{holder(t, name)}, args...)...)
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			t.Fatalf("%s %v in %s: %q, stderr: %s", name, args, ns.Name, s, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %v in %s: not ready after 10s", name, args, ns.Name)
	}
	return cmd.Process.Pid
}

// world builds a namespace like a pod: veth0 to a peer namespace that serves :80, and
// sink0, a second veth into the peer namespace with no address behind it. 10.62.0.9 has a
// permanent neighbour entry with a made-up MAC, so a SYN to it is sent without ARP, reaches
// the peer as a frame for another host and is dropped there: the connect stays in SYN-SENT
// for the kernel's whole retry budget. (A blackhole route fails the connect at once, an
// unanswered ARP within about 3 s (both checked on this machine); it has no dummy driver.)
func world(t *testing.T, label string) *netnstest.NS {
	ns, peer := netnstest.New(t, label), netnstest.New(t, label+"p")
	netnstest.Veth(t, ns, "10.61.0.1/24", peer, "10.61.0.2/24")
	peer.ListenTCP("10.61.0.2:80")
	ns.IP("link", "add", "sink0", "type", "veth", "peer", "name", "sink1", "netns", peer.Name)
	peer.IP("link", "set", "sink1", "up")
	ns.IP("addr", "add", "10.62.0.1/24", "dev", "sink0")
	ns.IP("link", "set", "sink0", "up")
	ns.IP("neigh", "add", "10.62.0.9", "lladdr", "02:00:5e:00:62:09", "nud", "permanent", "dev", "sink0")
	return ns
}

func collect(t *testing.T, ns *netnstest.NS) (*report.Report, Section) {
	t.Helper()
	// The target has no route in these namespaces: the active probes fail at once and send nothing.
	rep := ns.Collect("--quiet", "--target", "10.199.7.1:80")
	var s Section
	netnstest.Section(t, rep, "sockets", &s)
	return rep, s
}

func TestNetnsSocketsAndDiff(t *testing.T) {
	bad, clean, twin := world(t, "skbad"), world(t, "skok"), world(t, "sktwin")

	devPID := hold(t, bad, "devapp", "-dev", "veth0", "-connect", "10.61.0.2:80")
	markPID := hold(t, bad, "markapp", "-mark", "42", "-connect", "10.61.0.2:80")
	webPID := hold(t, bad, "webapp", "-listen6", "[::]:8080")
	synPID := hold(t, bad, "synapp", "-connect", "10.62.0.9:443", "-n", "4")
	udpPID := hold(t, bad, "udpapp", "-udp", "10.61.0.1:0")
	// The clean twin runs the same programs without the socket options.
	hold(t, clean, "devapp", "-connect", "10.61.0.2:80")
	hold(t, clean, "markapp", "-connect", "10.61.0.2:80")
	hold(t, clean, "webapp", "-listen", "[::]:8080")
	hold(t, clean, "udpapp", "-udp", "0.0.0.0:0")
	hold(t, twin, "devapp", "-connect", "10.61.0.2:80")
	hold(t, twin, "markapp", "-connect", "10.61.0.2:80")
	hold(t, twin, "webapp", "-listen", "[::]:8080")
	hold(t, twin, "udpapp", "-udp", "0.0.0.0:0")

	start := time.Now()
	repBad, sb := collect(t, bad)
	t.Logf("collect (whole prober) took %v", time.Since(start))
	repOK, _ := collect(t, clean)
	repTwin, _ := collect(t, twin)

	for table, src := range sb.Sources {
		// raw_diag is an optional kernel module; without it raw tables come from /proc/net.
		if src.Via != "netlink" && !strings.HasPrefix(table, "raw") || src.Error != nil {
			t.Errorf("table %s read via %q (%+v), want netlink as root", table, src.Via, src)
		}
	}
	find := func(pred func(Socket) bool) []Socket {
		var out []Socket
		for _, k := range sb.Sockets {
			if pred(k) {
				out = append(out, k)
			}
		}
		return out
	}
	if got := find(func(k Socket) bool { return k.Dev == "veth0" }); len(got) != 1 || got[0].PID != devPID || got[0].Comm != "devapp" || got[0].State != "ESTAB" {
		t.Errorf("sockets bound to veth0: %+v, want one ESTAB held by devapp pid %d", got, devPID)
	}
	if got := find(func(k Socket) bool { return k.Mark == 42 }); len(got) != 1 || got[0].PID != markPID || got[0].Comm != "markapp" {
		t.Errorf("sockets with mark 42: %+v, want one held by markapp pid %d", got, markPID)
	}
	if got := find(func(k Socket) bool { return k.State == "LISTEN" && k.Local == "[::]:8080" }); len(got) != 1 || got[0].PID != webPID || got[0].V6Only == nil || !*got[0].V6Only {
		t.Errorf("listeners on [::]:8080: %+v, want one v6only held by webapp pid %d", got, webPID)
	}
	if got := find(func(k Socket) bool { return k.State == "SYN-SENT" && k.Remote == "10.62.0.9:443" }); len(got) != 4 || got[0].PID != synPID || got[0].Comm != "synapp" {
		t.Errorf("SYN-SENT to 10.62.0.9:443: %+v, want 4 held by synapp pid %d", got, synPID)
	}
	if got := find(func(k Socket) bool { return k.Table == "udp" && strings.HasPrefix(k.Local, "10.61.0.1:") }); len(got) != 1 || got[0].PID != udpPID || got[0].State != "UNCONN" {
		t.Errorf("UDP sockets bound to 10.61.0.1: %+v, want one UNCONN held by udpapp pid %d", got, udpPID)
	}
	if got := find(func(k Socket) bool { return k.State == "ESTAB" && k.TCP != nil && k.TCP.RTTUs > 0 }); len(got) == 0 {
		t.Errorf("no ESTAB socket has tcp_info RTT: %+v", sb.Sockets)
	}

	res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{repOK, repBad},
		diff.Options{Rules: func(n string) bool { return strings.HasPrefix(n, "sockets/") }})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]contract.Row{}
	for _, r := range res.Rows {
		if r.Section == "sockets" {
			rows[r.Key] = r
		}
	}
	for key, want := range map[string][2]string{
		"dev/devapp/tcp/veth0":              {"-", "1"},
		"mark/markapp/tcp/0x2a":             {"-", "1"},
		"syn-sent/synapp/tcp/10.62.0.9:443": {"-", "4"},
		"listen/tcp/8080":                   {"ipv4+ipv6 [::] (webapp)", "ipv6-only [::] (webapp)"},
		"owner/devapp/tcp/ESTAB":            {"1", "1"},
		"owner/synapp/tcp":                  {"-", "yes"},
		"addr/udpapp/udp/<self>":            {"-", "1"},
		"owner/udpapp/udp/UNCONN":           {"1", "1"},
		"owner/synapp/tcp/SYN-SENT":         {"-", "4"},
	} {
		r, ok := rows[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		if r.Values[0] != want[0] || r.Values[1] != want[1] || r.Kind == probe.Exact && r.Equal != (want[0] == want[1]) {
			t.Errorf("row %s = %q (equal %v), want %q", key, r.Values, r.Equal, want)
		}
	}
	for k := range rows {
		for _, bad := range []string{"pid", "ino"} {
			if strings.Contains(k, bad) {
				t.Errorf("key %s holds a %s", k, bad)
			}
		}
	}
	wantFindings := map[string]string{
		"sockets/syn-sent":      "pod-b's synapp has 4 tcp socket(s) stuck in SYN-SENT to 10.62.0.9:443",
		"sockets/bound":         "pod-b's devapp binds 1 tcp socket(s) to device veth0",
		"sockets/bound/addr":    "pod-b's udpapp binds 1 outgoing udp socket(s) to source address <self>",
		"sockets/mark":          "pod-b has 1 tcp socket(s) with fwmark 0x2a (held by markapp)",
		"sockets/listen-family": "pod-b listens on tcp :8080 only on IPv6",
	}
	for _, f := range res.Findings {
		t.Logf("%s %s: %s", f.Severity, f.Rule, f.Message)
		for rule, want := range wantFindings {
			if strings.HasPrefix(rule, f.Rule) && strings.Contains(f.Message, want) {
				delete(wantFindings, rule)
			}
		}
		if strings.Contains(f.Message, "pod-a") {
			t.Errorf("finding blames the clean subject: %s", f.Message)
		}
	}
	for rule, msg := range wantFindings {
		t.Errorf("no %s finding saying %q", rule, msg)
	}
	twinFindings(t, repOK, repTwin)
}

// twinFindings is the noise guard: the clean namespace and a twin running the same
// programs give no sockets finding and no differing exact row.
func twinFindings(t *testing.T, a, b *report.Report) {
	t.Helper()
	res, err := diff.Compare([]string{"pod-a", "pod-c"}, []*report.Report{a, b},
		diff.Options{Rules: func(n string) bool { return strings.HasPrefix(n, "sockets/") }})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		t.Errorf("finding between twin namespaces: %+v", f)
	}
	for _, r := range res.Rows {
		if r.Section == "sockets" && !r.Equal && r.Kind == 0 {
			t.Errorf("exact row differs between twins: %s %q", r.Key, r.Values)
		}
	}
}
