package sockets

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// TestNetlinkAgreesWithProc: in a namespace holding TCP, UDP and raw sockets of both
// families, sock_diag and /proc/net list the same sockets (state, addresses, inode).
func TestNetlinkAgreesWithProc(t *testing.T) {
	ns := netnstest.New(t, "skagree")
	ns.IP("addr", "add", "fd00:63::1/64", "dev", "lo", "nodad")
	hold(t, ns, "agree", "-listen6", "[::]:8080", "-listen", "[::]:9090", "-udp", "127.0.0.1:5353",
		"-udp6", "[fd00:63::1]:53", "-raw", "-connect", "127.0.0.1:9090", "-n", "3")
	err := ns.Do(func() error {
		for _, table := range Tables {
			nl, _, err := dumpDiag(table)
			if err != nil {
				t.Logf("%s: no netlink (%v); nothing to compare", table, err)
				continue
			}
			// thread-self: /proc/self/net follows the thread group leader, which is not in ns.
			b, err := os.ReadFile(filepath.Join("/proc/thread-self/net", table))
			if err != nil {
				return err
			}
			pr, err := ParseProcNet(bytes.NewReader(b), table)
			if err != nil {
				return err
			}
			a, p := keys(nl), keys(pr)
			if len(a) == 0 {
				t.Errorf("%s: netlink listed nothing", table)
			}
			if !equalStrings(a, p) {
				t.Errorf("%s:\nnetlink %q\nproc    %q", table, a, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(socks []Socket) []string {
	var out []string
	for _, s := range socks {
		out = append(out, s.State+" "+s.Local+" "+s.Remote+" "+strconv.FormatUint(s.Inode, 10))
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUnprivilegedSocketTable: a prober without capabilities still dumps the table over
// sock_diag, but the kernel withholds marks and /proc/PID/fd of other users' processes:
// the section says both instead of reporting "no mark" and "no owner" as facts.
func TestUnprivilegedSocketTable(t *testing.T) {
	ns := world(t, "sknobody")
	hold(t, ns, "markapp", "-mark", "42", "-connect", "10.61.0.2:80")
	rep := collectAsNobody(t, ns, "--target", "10.199.7.1:80")
	var s Section
	netnstest.Section(t, rep, "sockets", &s)
	if src := s.Sources["tcp"]; src.Via != "netlink" || src.Marks {
		t.Errorf("tcp source as nobody: %+v, want netlink without marks", src)
	}
	found := false
	for _, k := range s.Sockets {
		if k.State == "ESTAB" && k.Remote == "10.61.0.2:80" {
			found = true
			if k.Mark != 0 || k.Comm != "" {
				t.Errorf("as nobody the mark and owner must be unknown: %+v", k)
			}
		}
	}
	if !found {
		t.Errorf("markapp's connection is missing: %+v", s.Sockets)
	}
	facts, err := section.Facts(Name, rep.Sections["sockets"])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"marks": "not visible (needs CAP_NET_ADMIN)"}
	for _, f := range facts {
		if w, ok := want[f.Key]; ok {
			if f.Value != w {
				t.Errorf("fact %s = %q, want %q", f.Key, f.Value, w)
			}
			delete(want, f.Key)
		}
	}
	for k := range want {
		t.Errorf("no fact %s", k)
	}
}

// collectAsNobody runs the real prober as uid 65534 without capabilities, the way a
// restricted ephemeral container runs it.
func collectAsNobody(t *testing.T, ns *netnstest.NS, args ...string) *report.Report {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
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

// TestBusyNamespace measures the section on a namespace with about 2,000 sockets: the
// collect time of this plugin alone and the size of its section, which must stay small.
func TestBusyNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 sockets")
	}
	ns := netnstest.New(t, "skbusy")
	// 1,000 connections over loopback: 1,000 client and 1,000 (unaccepted) server sockets.
	hold(t, ns, "busyapp", "-listen", "127.0.0.1:9090", "-connect", "127.0.0.1:9090", "-n", "1000")
	var (
		v       any
		elapsed time.Duration
	)
	if err := ns.Do(func() (err error) {
		start := time.Now()
		v, err = (&Plugin{}).Collect(context.Background(), &probe.Env{Proc: "/proc"})
		elapsed = time.Since(start)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s := v.(*Section)
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := section.Facts(Name, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sockets: collect %v, section %d bytes (%d listed, truncated %v), %d facts", s.Total, elapsed, len(raw), len(s.Sockets), s.Truncated, len(facts))
	if s.Total < 2000 || !s.Truncated || len(s.Sockets) != MaxSockets {
		t.Errorf("total %d truncated %v listed %d, want >= 2000, true, %d", s.Total, s.Truncated, len(s.Sockets), MaxSockets)
	}
	if s.States["tcp"]["ESTAB"] < 2000 {
		t.Errorf("states %v: the counts must cover every socket, not the listed ones", s.States)
	}
	if len(raw) > 128<<10 {
		t.Errorf("section is %d bytes, want under 128 KiB", len(raw))
	}
	if len(facts) > 50 {
		t.Errorf("%d facts for one busy process: facts must not grow with sockets", len(facts))
	}
}
