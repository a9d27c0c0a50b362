// Package netnstest builds throwaway network namespaces, veth links and servers for tests
// that need a real kernel network stack. Everything it creates is removed in t.Cleanup.
package netnstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/internal/debpkg"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

var seq atomic.Int32

// RequireRoot skips tests that need CAP_SYS_ADMIN and the ip tool; CI runs them as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2)")
	}
}

// NS is a named network namespace (visible in `ip netns list` while the test runs).
type NS struct {
	Name string
	t    testing.TB
}

// New creates a namespace with lo up. The name is unique per process and call.
func New(t testing.TB, label string) *NS {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("nd-%s-%d-%d", label, os.Getpid(), seq.Add(1))
	if len(name) > 60 {
		name = name[:60]
	}
	run(t, "ip", "netns", "add", name)
	ns := &NS{Name: name, t: t}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns.IP("link", "set", "lo", "up")
	return ns
}

// IP runs `ip ARGS...` inside the namespace and fails the test on error.
func (ns *NS) IP(args ...string) string {
	ns.t.Helper()
	return run(ns.t, "ip", append([]string{"-n", ns.Name}, args...)...)
}

// Exec runs a command inside the namespace and returns stdout; it fails the test on error.
func (ns *NS) Exec(args ...string) string {
	ns.t.Helper()
	return run(ns.t, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Command returns an unstarted command that runs inside the namespace.
func (ns *NS) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Start runs a long-lived command inside the namespace; it is killed at cleanup.
func (ns *NS) Start(args ...string) *exec.Cmd {
	ns.t.Helper()
	cmd := ns.Command(context.Background(), args...)
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		ns.t.Fatalf("start %v in %s: %v", args, ns.Name, err)
	}
	ns.t.Cleanup(func() {
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// Veth links a and b with a veth pair and assigns the CIDR addresses (e.g. "10.1.0.1/24").
// Interface names are "veth0" in both namespaces.
func Veth(t testing.TB, a *NS, aAddr string, b *NS, bAddr string) {
	t.Helper()
	tmpA, tmpB := vethTempNames(os.Getpid(), seq.Add(1))
	run(t, "ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", tmpA).Run() })
	run(t, "ip", "link", "set", tmpA, "netns", a.Name)
	run(t, "ip", "link", "set", tmpB, "netns", b.Name)
	for _, side := range []struct {
		ns        *NS
		tmp, addr string
	}{{a, tmpA, aAddr}, {b, tmpB, bAddr}} {
		side.ns.IP("link", "set", side.tmp, "name", "veth0")
		if side.addr != "" {
			side.ns.IP("addr", "add", side.addr, "dev", "veth0")
		}
		side.ns.IP("link", "set", "veth0", "up")
	}
}

// TwoClients builds the usual client/server layout: client namespaces A and B, each
// veth-linked to a server namespace S, with A routed through S.
//
//	A veth0 10.10.1.1/24 — S vethA 10.10.1.2/24   (A: default via 10.10.1.2)
//	B veth0 10.10.2.1/24 — S veth0 10.10.2.2/24   (B: no default route)
//
// The namespaces are labelled label+"A", label+"B" and label+"S".
func TwoClients(t testing.TB, label string) (a, b, s *NS) {
	t.Helper()
	a, b, s = New(t, label+"A"), New(t, label+"B"), New(t, label+"S")
	Veth(t, a, "10.10.1.1/24", s, "10.10.1.2/24")
	// A's link gets its own name in S: Veth always names both ends veth0.
	s.IP("link", "set", "veth0", "name", "vethA")
	Veth(t, b, "10.10.2.1/24", s, "10.10.2.2/24")
	a.IP("route", "add", "default", "via", "10.10.1.2")
	return a, b, s
}

// WriteEtc writes /etc/netns/NAME/<name> (name may hold directories, e.g.
// "ssl/certs/ca-certificates.crt"), which `ip netns exec` bind-mounts over /etc/<name> for
// the programs it runs in the namespace, such as its own resolv.conf so that DNS probes
// never ask the host's nameserver. /etc/netns/NAME is removed at cleanup.
func (ns *NS) WriteEtc(name, content string) {
	ns.t.Helper()
	root := filepath.Join("/etc/netns", ns.Name)
	path := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		ns.t.Fatal(err)
	}
	ns.t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		ns.t.Fatal(err)
	}
}

// vethTempNames names a veth pair while it still sits in the host namespace. Test packages
// run as parallel processes, each counting from 1, so the pid is part of the name; base 36
// keeps "ndA" + pid + "-" + n within the kernel's 15 characters (IFNAMSIZ-1) for any pid
// (at most 4194304, 5 digits) and over two billion pairs per process.
func vethTempNames(pid int, n int32) (string, string) {
	id := strconv.FormatInt(int64(pid), 36) + "-" + strconv.FormatInt(int64(n), 36)
	return "ndA" + id, "ndB" + id
}

// Do runs fn on an OS thread that has joined the namespace, e.g. to open a listener there:
// sockets stay in the namespace they were created in.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// This thread's namespace is changed for good, so it is never given back to the runtime.
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns.Name))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// ListenTCP opens a TCP listener inside the namespace that accepts and holds connections
// until cleanup.
func (ns *NS) ListenTCP(addr string) net.Listener {
	ns.t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		ns.t.Fatalf("listen %s in %s: %v", addr, ns.Name, err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ns.t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Prober builds cmd/netdiff-prober once per test process (static, like the release) and
// returns the binary's path.
func Prober(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "netdiff-prober-test-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "netdiff-prober")
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildPath, "./cmd/netdiff-prober")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build prober: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Collect runs the real prober inside the namespace and decodes its report.
// Extra args go to `collect` (e.g. "--target", "10.1.0.2:80", "--pid", "123").
func (ns *NS) Collect(args ...string) *report.Report {
	ns.t.Helper()
	_, _, rep := ns.collect(nil, Prober(ns.t), args)
	return rep
}

// CollectOutput is Collect that also returns the prober's stdout and stderr as they were
// written, e.g. to search every byte the user would see.
func (ns *NS) CollectOutput(args ...string) (stdout, stderr []byte, rep *report.Report) {
	ns.t.Helper()
	return ns.collect(nil, Prober(ns.t), args)
}

// CollectAs is Collect behind a wrapper command that runs the prober with fewer
// privileges, e.g. {"setpriv", "--inh-caps", "-net_admin", "--bounding-set", "-net_admin"}.
func (ns *NS) CollectAs(wrapper []string, args ...string) *report.Report {
	ns.t.Helper()
	_, _, rep := ns.collect(wrapper, Prober(ns.t), args)
	return rep
}

// CollectAsNobody is Collect as uid 65534 with no groups and no capabilities, the way a
// restricted ephemeral container runs the prober. It runs a copy of the prober in a
// directory uid 65534 may read.
func (ns *NS) CollectAsNobody(args ...string) *report.Report {
	ns.t.Helper()
	dir := ns.t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		ns.t.Fatal(err)
	}
	bin, err := os.ReadFile(Prober(ns.t))
	if err != nil {
		ns.t.Fatal(err)
	}
	prober := filepath.Join(dir, "netdiff-prober")
	if err := os.WriteFile(prober, bin, 0o755); err != nil {
		ns.t.Fatal(err)
	}
	_, _, rep := ns.collect([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all"}, prober, args)
	return rep
}

func (ns *NS) collect(wrapper []string, prober string, args []string) ([]byte, []byte, *report.Report) {
	ns.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := append(append(append([]string{}, wrapper...), prober, "collect"), args...)
	cmd := ns.Command(ctx, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		ns.t.Fatalf("prober in %s: %v\nstderr:\n%s", ns.Name, err, stderr.String())
	}
	rep, err := report.Decode(bytes.NewReader(stdout.Bytes()))
	if err != nil {
		ns.t.Fatalf("prober in %s: %v", ns.Name, err)
	}
	return stdout.Bytes(), stderr.Bytes(), rep
}

// Section decodes a report section, failing the test when it is missing.
func Section(t testing.TB, rep *report.Report, name string, v any) {
	t.Helper()
	ok, err := rep.Section(name, v)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("report has no %q section; problems: %s", name, mustJSON(rep.Problems))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s%s", name, strings.Join(args, " "), err, stderr.String(), missingHint(name, args, stderr.String()))
	}
	return stdout.String()
}

// missingHint names the Debian package of a command that is not installed, whether it was
// the command itself or the one `ip netns exec` was asked to run ("exec of "nft" failed").
func missingHint(name string, args []string, stderr string) string {
	cmd := name
	if _, err := exec.LookPath(name); err == nil {
		if len(args) < 4 || args[0] != "netns" || args[1] != "exec" || !strings.Contains(stderr, "No such file") {
			return ""
		}
		cmd = args[3]
		if _, err := exec.LookPath(cmd); err == nil {
			return ""
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return ""
	}
	l, err := debpkg.ReadRepo(root)
	if err != nil {
		return ""
	}
	return "\n" + l.Hint(cmd)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Settle waits until no IPv6 address in the namespaces is tentative (DAD done): a
// namespace still being configured while it is probed differs from its twin by that
// alone, and a real pod's addresses settled long ago.
func Settle(t testing.TB, nss ...*NS) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, ns := range nss {
		for strings.TrimSpace(ns.IP("-6", "addr", "show", "tentative")) != "" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: IPv6 addresses still tentative after 5s", ns.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
