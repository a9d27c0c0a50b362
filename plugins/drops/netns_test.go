//go:build linux

package drops_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
	"github.com/netdiff/kubectl-netdiff/plugins/drops"
)

// world is a node with two pods wired the way Calico wires them, and a server behind the
// node:
//
//	pod-a eth0 10.41.0.2/32 — node veth-a (proxy_arp, route 10.41.0.2 dev veth-a)
//	pod-b eth0 10.41.0.3/32 — node veth-b (proxy_arp, route 10.41.0.3 dev veth-b)
//	both pods: default via 169.254.1.1 dev eth0 (the node answers for it)
//	server eth0 10.41.9.2/24 — node vets 10.41.9.1/24; the server listens on 8080
//
// Both pods' veths carry the same MAC on the node (ee:ee:ee:ee:ee:ee), as Calico's do,
// so the two pods' neighbour entries line up. Each pod is an app process in the pod's
// network namespace, in a cgroup named for a container ID, so the prober is run as
// kubectl netdiff --via node runs it: from the node's namespace, entering the pod's
// (--container-id), watching both.
type world struct {
	t         testing.TB
	node, srv *netnstest.NS
	pods      [2]*netnstest.NS
	ids       [2]string
	ips       [2]string
	// targets are probed beside the server (the twins' extra probes).
	targets []string
}

const serverAddr = "10.41.9.2:8080"

func newWorld(t *testing.T) *world { return newWorldTB(t) }

// newBenchWorld is newWorld for a benchmark.
func newBenchWorld(b *testing.B) *world { return newWorldTB(b) }

func newWorldTB(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, node: netnstest.New(t, "dnode"), srv: netnstest.New(t, "dsrv"), ips: [2]string{"10.41.0.2", "10.41.0.3"}}
	w.node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
	netnstest.Veth(t, w.srv, "10.41.9.2/24", w.node, "10.41.9.1/24")
	w.node.IP("link", "set", "veth0", "name", "vets")
	w.srv.IP("route", "add", "default", "via", "10.41.9.1")
	// proxy_arp answers for 169.254.1.1 only where the node has a route to it elsewhere.
	w.node.IP("route", "add", "default", "via", "10.41.9.2")
	for i, label := range []string{"dpa", "dpb"} {
		pod := netnstest.New(t, label)
		for _, n := range []*netnstest.NS{pod} {
			n.Exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		}
		host := "veth-" + string(rune('a'+i))
		netnstest.Veth(t, pod, w.ips[i]+"/32", w.node, "")
		w.node.IP("link", "set", "veth0", "down")
		w.node.IP("link", "set", "veth0", "address", "ee:ee:ee:ee:ee:ee")
		w.node.IP("link", "set", "veth0", "name", host)
		w.node.IP("link", "set", host, "up")
		w.node.Exec("sysctl", "-qw", "net.ipv4.conf."+host+".proxy_arp=1", "net.ipv4.conf."+host+".rp_filter=0",
			"net.ipv4.neigh."+host+".proxy_delay=0")
		w.node.IP("route", "add", w.ips[i]+"/32", "dev", host)
		// Static neighbours both ways, as a CNI may set them: a fault that drops ARP
		// (a full queue) then loses only what it is about.
		mac := fmt.Sprintf("02:00:00:00:00:%02x", i+2)
		w.node.IP("neigh", "replace", w.ips[i], "lladdr", mac, "dev", host, "nud", "permanent")
		pod.IP("link", "set", "veth0", "down")
		pod.IP("link", "set", "veth0", "name", "eth0")
		pod.IP("link", "set", "eth0", "address", fmt.Sprintf("02:00:00:00:00:%02x", i+2))
		pod.IP("link", "set", "eth0", "up")
		pod.IP("neigh", "replace", "169.254.1.1", "lladdr", "ee:ee:ee:ee:ee:ee", "dev", "eth0", "nud", "permanent")
		pod.IP("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
		pod.IP("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
		// A next hop that does not answer is given up on quickly, in both pods alike.
		pod.Exec("sysctl", "-qw", "net.ipv4.neigh.eth0.mcast_solicit=2", "net.ipv4.neigh.eth0.retrans_time_ms=200")
		pod.WriteEtc("resolv.conf", "nameserver 10.41.9.2\n")
		w.pods[i] = pod
		w.ids[i] = startApp(t, pod)
	}
	w.srv.ListenTCP(serverAddr)
	return w
}

// closingServer listens on addr in ns and closes every connection right after a short
// reply, the way an HTTP server without keep-alive does: its FINs meet the prober's
// sockets as they close.
func closingServer(t testing.TB, ns *netnstest.NS, addr string) {
	t.Helper()
	var l net.Listener
	if err := ns.Do(func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
}

// startApp starts the pod's app: a process in the pod's network namespace (and PID, mount
// and UTS namespaces of its own), in a cgroup named for a container ID the way a runtime
// names one. Returns the ID.
func startApp(t testing.TB, ns *netnstest.NS) string {
	t.Helper()
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
	cg := filepath.Join(root, "netdiff-drops-"+id)
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := ns.Start("unshare", "--fork", "--pid", "--mount-proc", "--uts", "--", "sh", "-c", "hostname app; exec sleep 600")
	t.Cleanup(func() {
		for i := 0; i < 50 && os.Remove(cg) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	// The app is the sleep unshare's child becomes once its shell has set the hostname.
	app := 0
	for i := 0; i < 200 && app == 0; i++ {
		time.Sleep(20 * time.Millisecond)
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(cmd.Process.Pid)).Output()
		for _, l := range strings.Fields(string(out)) {
			if comm, _ := os.ReadFile(filepath.Join("/proc", l, "comm")); strings.TrimSpace(string(comm)) == "sleep" {
				app, _ = strconv.Atoi(l)
			}
		}
	}
	if app == 0 {
		t.Fatal("the pod's app did not start")
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(app)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(strconv.Itoa(app)), 0o644) })
	return id
}

// collect runs the prober from the node into pod i (as --via node does), and with
// nodeSide also the node side of the pod (as --node-side adds it).
func (w *world) collect(t testing.TB, i int, nodeSide bool, extra ...string) (*report.Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{netnstest.Prober(t), "collect", "-q", "--container-id", "containerd://" + w.ids[i],
		"--target", serverAddr, "--attempts", "3", "--burst", "2", "--spread", "0", "--timeout", "3s"}, extra...)
	for _, tg := range w.targets {
		args = append(args, "--target", tg)
	}
	rep, err := w.run(ctx, args)
	if err != nil || !nodeSide {
		return rep, err
	}
	node, err := w.run(ctx, []string{netnstest.Prober(t), "collect", "-q", "--only", "nodeside", "--pod-ip", w.ips[i]})
	if err != nil {
		return nil, err
	}
	if raw, ok := node.Sections["nodeside"]; ok {
		rep.Sections["nodeside"] = raw
	}
	return rep, nil
}

func (w *world) run(ctx context.Context, argv []string) (*report.Report, error) {
	cmd := w.node.Command(ctx, argv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %v\n%s", argv, err, errOut.String())
	}
	return report.Decode(&out)
}

// pair collects both pods at once and compares them.
func (w *world) pair(t *testing.T, nodeSide bool) (*diff.Result, [2]*report.Report) {
	t.Helper()
	var reps [2]*report.Report
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { reps[i], errs[i] = w.collect(t, i, nodeSide) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, reps
}

func section(t *testing.T, rep *report.Report) *drops.Section {
	t.Helper()
	var s drops.Section
	netnstest.Section(t, rep, drops.Name, &s)
	return &s
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
