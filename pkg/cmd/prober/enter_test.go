package prober_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/collect"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
)

// A "pod": an app in its own network, PID, mount and UTS namespaces, in a cgroup named
// for a container ID, the way a container runtime sets one up. Returns the ID and the
// app's PID on the host.
func startPod(t *testing.T, ns *netnstest.NS) (string, int) {
	t.Helper()
	// Any hierarchy names the container: the v2 one, or v1's pids (this machine mounts both).
	root := ""
	for _, r := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids"} {
		if _, err := os.Stat(filepath.Join(r, "cgroup.procs")); err == nil {
			root = r
			break
		}
	}
	if root == "" {
		t.Skip("needs a cgroup hierarchy at /sys/fs/cgroup")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	cg := filepath.Join(root, "netdiff-test-"+id)
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := ns.Start("unshare", "--fork", "--pid", "--mount-proc", "--uts", "--",
		"sh", "-c", "hostname pod-host; exec sleep 300")
	t.Cleanup(func() {
		// The app must leave the cgroup before it can go; the test's own cleanup kills it.
		for i := 0; i < 50 && os.Remove(cg) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	// The app is unshare's child: PID 1 of the new namespace.
	var app int
	for i := 0; i < 100 && app == 0; i++ {
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(cmd.Process.Pid)).Output()
		for _, l := range strings.Fields(string(out)) {
			if child, _ := strconv.Atoi(l); child > 0 {
				if grand, _ := exec.Command("pgrep", "-P", l).Output(); len(bytes.TrimSpace(grand)) > 0 {
					app, _ = strconv.Atoi(strings.Fields(string(grand))[0])
				} else {
					app = child
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if app == 0 {
		t.Fatal("the pod's app did not start")
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(app)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(strconv.Itoa(app)), 0o644) })
	return id, app
}

func TestContainerPIDFindsTheContainersFirstProcess(t *testing.T) {
	ns := netnstest.New(t, "cpid")
	id, app := startPod(t, ns)
	got, err := collect.ContainerPID("/proc", "containerd://"+id)
	if err != nil || got != app {
		t.Errorf("ContainerPID = %d, %v; want %d", got, err, app)
	}
	if _, err := collect.ContainerPID("/proc", "containerd://"+strings.Repeat("0", 64)); err == nil {
		t.Error("a container that does not exist was found")
	}
	if _, err := collect.ContainerPID("/proc", "containerd://abc"); err == nil || !strings.Contains(err.Error(), "64 hex") {
		t.Errorf("a short ID: err = %v", err)
	}
}

// The report a prober takes from the node (--container-id: the host's PID namespace, the
// pod entered) diffs as equal to the one a prober inside the pod takes (the network, PID,
// mount and UTS namespaces of the app, as an ephemeral container has them): --via node
// sees what the ephemeral mode sees, but for the cgroup BPF programs (the pod's mount
// namespace here has no cgroup2 mount; the node's prober has).
func TestEnteredReportEqualsTheInsideOne(t *testing.T) {
	ns := netnstest.New(t, "via")
	peer := netnstest.New(t, "viapeer")
	// No IPv6: its link-local address would still be settling when the first report is taken.
	for _, n := range []*netnstest.NS{ns, peer} {
		n.Exec("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1")
	}
	netnstest.Veth(t, ns, "10.223.0.2/24", peer, "10.223.0.1/24")
	ns.IP("route", "add", "default", "via", "10.223.0.1")
	peer.ListenTCP("10.223.0.1:8080")
	// A name only the pod's /etc/hosts knows: the node's prober must resolve it as the pod.
	ns.WriteEtc("hosts", "127.0.0.1 localhost\n10.223.0.1 peer.pod.test\n")
	id, app := startPod(t, ns)
	bin := netnstest.Prober(t)
	args := []string{"collect", "-q", "--target", "10.223.0.1:8080", "--target", "peer.pod.test:8080", "--attempts", "2", "--burst", "2", "--spread", "0", "--timeout", "2s"}

	run := func(argv ...string) *report.Report {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, errOut.String())
		}
		rep, err := report.Decode(&out)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	inside := run(append([]string{"nsenter", "-t", strconv.Itoa(app), "-n", "-u", "-p", "-m", "--", bin}, append(args, "--pid", "1")...)...)
	fromNode := run(append([]string{bin}, append(args, "--container-id", "containerd://"+id)...)...)

	if fromNode.Via != report.ViaNode || inside.Via != "" {
		t.Errorf("via = %q from the node, %q inside", fromNode.Via, inside.Via)
	}
	if fromNode.Hostname != "pod-host" {
		t.Errorf("hostname from the node = %q, want the pod's (its UTS namespace)", fromNode.Hostname)
	}
	res, err := diff.Compare([]string{"inside", "node"}, []*report.Report{inside, fromNode}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		// What only privilege and the host's mounts show (docs/usage.md): the node's
		// prober sees the cgroup2 tree, the pod's own mount namespace may not.
		if !r.Equal && r.Section != "cgroupbpf" {
			t.Errorf("differs: %s %s: %v", r.Section, r.Key, r.Values)
		}
	}
	// Both are reports of one pod: they share its network namespace, and say so.
	shared := false
	for _, f := range res.Findings {
		if f.Rule == "netns/shared" || strings.HasPrefix(f.Rule, "cgroupbpf/") {
			shared = true
			continue
		}
		t.Errorf("finding: %s: %s", f.Rule, f.Message)
	}
	if !shared {
		t.Error("the two reports are not of one network namespace")
	}
}
