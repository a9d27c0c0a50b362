package cgroupbpf_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
	"github.com/netdiff/kubectl-netdiff/plugins/cgroupbpf"
)

var cgSeq atomic.Int32

// cgroupRoot skips unless the test runs as root with a cgroup v2 hierarchy mounted whole
// (its root at the mount point) and the kernel loads a cgroup/connect4 program, and
// returns the mount point.
func cgroupRoot(t *testing.T) string {
	t.Helper()
	netnstest.RequireRoot(t)
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("cannot read mountinfo: %v", err)
	}
	for _, m := range cgroupbpf.ParseMountinfo(data) {
		if m.Root == "/" {
			return m.Point
		}
	}
	t.Skip("no cgroup v2 hierarchy mounted at its root (cgroup2 is needed for cgroup BPF programs)")
	return ""
}

// testCgroup makes an empty cgroup under a directory this test process owns; it and the
// directory are removed at cleanup, after the processes the test put in it are gone.
func testCgroup(t *testing.T, root, label string) string {
	t.Helper()
	parent := filepath.Join(root, fmt.Sprintf("netdiff-test-%d", os.Getpid()))
	if err := os.Mkdir(parent, 0o755); err != nil && !os.IsExist(err) {
		t.Skipf("cannot create a cgroup under %s: %v", root, err)
	}
	dir := filepath.Join(parent, fmt.Sprintf("%s-%d", label, cgSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup %s: %v", dir, err)
	}
	t.Cleanup(func() {
		// The processes are killed by cleanups registered after this one (so run before it);
		// the kernel frees their membership a moment after they are reaped.
		for range 50 {
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = os.Remove(parent) // fails while another test's cgroup is still in it
	})
	return dir
}

// denyPort is a cgroup/connect4 program, assembled here, that refuses (returns 0 for) a
// connect to port and allows every other: connect() then fails with EPERM.
func denyPort(t *testing.T, port uint16) *ebpf.Program {
	t.Helper()
	// bpf_sock_addr.user_port (offset 24) holds the port in network byte order in the
	// low 16 bits of the 32-bit field, as a little-endian load sees it.
	nbo := int32(port>>8 | (port&0xff)<<8)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:       "nd_deny_" + strconv.Itoa(int(port)),
		Type:       ebpf.CGroupSockAddr,
		AttachType: ebpf.AttachCGroupInet4Connect,
		License:    "Apache-2.0",
		Instructions: asm.Instructions{
			asm.LoadMem(asm.R2, asm.R1, 24, asm.Word),
			asm.JEq.Imm(asm.R2, nbo, "deny"),
			asm.Mov.Imm(asm.R0, 1),
			asm.Return(),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("deny"),
			asm.Return(),
		},
	})
	if err != nil {
		t.Skipf("the kernel does not load a cgroup/connect4 program: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// attach attaches prog to the cgroup dir as connect4 until cleanup.
func attach(t *testing.T, dir string, prog *ebpf.Program) {
	t.Helper()
	l, err := link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: ebpf.AttachCGroupInet4Connect, Program: prog})
	if err != nil {
		t.Fatalf("attach to %s: %v", dir, err)
	}
	t.Cleanup(func() { l.Close() })
}

// startIn starts argv inside ns and inside the cgroup dir (CLONE_INTO_CGROUP), without
// `ip netns exec`, whose private /sys would hide the cgroup2 mount from the process.
func startIn(t *testing.T, ns *netnstest.NS, dir string, cmd *exec.Cmd) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd()), Setpgid: true}
	if err := ns.Do(cmd.Start); err != nil {
		t.Fatalf("start %v in %s and %s: %v", cmd.Args, ns.Name, dir, err)
	}
}

// app starts a sleeping process in ns and the cgroup: the "app" whose cgroup is read.
func app(t *testing.T, ns *netnstest.NS, dir string) int {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	startIn(t, ns, dir, cmd)
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// collectIn runs the real prober inside ns and the cgroup dir, behind wrapper (a setpriv
// command line, or none), and decodes its report.
func collectIn(t *testing.T, ns *netnstest.NS, dir string, wrapper []string, args ...string) *report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := append(append(append([]string{}, wrapper...), netnstest.Prober(t), "collect", "-q"), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startIn(t, ns, dir, cmd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("prober in %s: %v\n%s", ns.Name, err, stderr.String())
	}
	rep, err := report.Decode(bytes.NewReader(stdout.Bytes()))
	if err != nil {
		t.Fatalf("prober in %s: %v", ns.Name, err)
	}
	return rep
}

// pair builds two "pods" linked by a veth (10.78.0.1 and 10.78.0.2), each listening on
// 8080 and 9090 and holding an app in a cgroup of its own.
type pair struct {
	ns   [2]*netnstest.NS
	cg   [2]string
	pid  [2]int
	addr [2]string
}

func newPair(t *testing.T, root string) *pair {
	p := &pair{addr: [2]string{"10.78.0.1", "10.78.0.2"}}
	p.ns[0], p.ns[1] = netnstest.New(t, "cbpfA"), netnstest.New(t, "cbpfB")
	netnstest.Veth(t, p.ns[0], p.addr[0]+"/24", p.ns[1], p.addr[1]+"/24")
	netnstest.Settle(t, p.ns[:]...)
	for i, ns := range p.ns {
		for _, port := range []string{"8080", "9090"} {
			ns.ListenTCP(p.addr[i] + ":" + port)
		}
		p.cg[i] = testCgroup(t, root, "pod"+string(rune('a'+i)))
		p.pid[i] = app(t, ns, p.cg[i])
	}
	return p
}

// collect runs both probers at once, each probing the other pod's two ports.
func (p *pair) collect(t *testing.T, wrapper []string) [2]*report.Report {
	var reps [2]*report.Report
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			peer := p.addr[1-i]
			reps[i] = collectIn(t, p.ns[i], p.cg[i], wrapper, "--pid", strconv.Itoa(p.pid[i]),
				"--target", peer+":8080", "--target", peer+":9090", "--attempts", "2", "--burst", "0", "--timeout", "3s")
		})
	}
	wg.Wait()
	if reps[0] == nil || reps[1] == nil {
		t.FailNow()
	}
	return reps
}

func section(t *testing.T, rep *report.Report) cgroupbpf.Section {
	t.Helper()
	var s cgroupbpf.Section
	netnstest.Section(t, rep, cgroupbpf.Name, &s)
	return s
}

// programs lists "attach level name" of every program in the section.
func programs(s cgroupbpf.Section) []string {
	var out []string
	for _, l := range s.Levels {
		for _, p := range l.Programs {
			out = append(out, p.Attach+" "+l.Level+" "+p.Name)
		}
	}
	for _, p := range s.Above {
		out = append(out, p.Attach+" above "+p.Name)
	}
	return out
}

// TestConnect4ProgramIsTheCause: a connect4 program refusing port 9090 is attached to
// pod-b's cgroup only. The report lists it in pod-b alone (at its own cgroup, with name,
// tag and type), pod-b's connects to 9090 fail with EPERM, and the diagnosis's first
// finding is the program, explaining them.
func TestConnect4ProgramIsTheCause(t *testing.T) {
	root := cgroupRoot(t)
	prog := denyPort(t, 9090)
	p := newPair(t, root)
	attach(t, p.cg[1], prog)
	start := time.Now()
	reps := p.collect(t, nil)
	t.Logf("both collects: %v", time.Since(start).Round(time.Millisecond))

	// The section's own cost, in this process, for pod-b's app (three levels, one program).
	const runs = 20
	start = time.Now()
	for range runs {
		if _, err := (&cgroupbpf.Plugin{}).Collect(context.Background(), &probe.Env{PID: p.pid[1], Proc: "/proc"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("collect of the section: %v each", (time.Since(start) / runs).Round(time.Microsecond))

	sa, sb := section(t, reps[0]), section(t, reps[1])
	if got := programs(sa); len(got) != 0 {
		t.Errorf("pod-a lists programs it does not have: %v", got)
	}
	want := "connect4 self nd_deny_9090"
	if got := programs(sb); len(got) != 1 || got[0] != want {
		t.Fatalf("pod-b lists %v, want [%s]; section %+v", got, want, sb)
	}
	pb := sb.Levels[0].Programs[0]
	if pb.Tag == "" || pb.Type != "CGroupSockAddr" || !strings.Contains(pb.Flags, "multi") || pb.ID == 0 {
		t.Errorf("pod-b's program is not fully described: %+v", pb)
	}
	if sb.Levels[0].Path == "" || !strings.HasSuffix(p.cg[1], sb.Levels[0].Path) || sb.Via != "mountinfo" {
		t.Errorf("pod-b's own level is %+v (via %s), want its cgroup %s", sb.Levels[0], sb.Via, p.cg[1])
	}

	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	// The connect outcome: EPERM in pod-b only, for port 9090 only.
	var eperm, port8080 bool
	for _, r := range res.Rows {
		if r.Section != "connect" || r.Equal && !strings.Contains(r.Key, ":8080") {
			continue
		}
		if strings.Contains(r.Key, ":9090") && strings.HasPrefix(r.Values[1], "EPERM") && strings.HasPrefix(r.Values[0], "ok") {
			eperm = true
		}
		if strings.Contains(r.Key, ":8080") && !r.Equal {
			port8080 = true
		}
	}
	if !eperm || port8080 {
		t.Errorf("want pod-b's connects to 9090 to fail with EPERM and 8080 to work in both:\n%s", out.String())
	}
	top := res.Findings[0]
	names := regexp.MustCompile(`pod-b has a cgroup connect4 program .nd_deny_9090. at its own cgroup \(pod-a has no such program\)`)
	if top.Kind != contract.Cause || !names.MatchString(top.Message) || len(top.Explains) == 0 {
		t.Fatalf("the first finding is not the program, explaining the failures:\n%s", out.String())
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
	plugintest.GoldenHeadline(t, "connect4-program", top)

	// Without this plugin's rule, the path model alone finds the program: it lies on the
	// path of the connects to 9090 (a connect4 program, IPv4, TCP) and differs there.
	res, err = diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{Rules: func(name string) bool {
		return !strings.HasPrefix(name, cgroupbpf.Name+"/")
	}})
	if err != nil {
		t.Fatal(err)
	}
	top = res.Findings[0]
	if top.Kind != contract.Cause || top.Rule != cgroupbpf.Name+"/differs-on-path" || !names.MatchString(top.Message) || len(top.Explains) == 0 {
		out.Reset()
		_ = render.Render(&out, res, "wide", render.Options{})
		t.Fatalf("without the rule, the path model does not name the program first:\n%s", out.String())
	}
}

// TestTwinsWithTheSameProgramAreSilent: the same program loaded and attached to each
// pod's cgroup separately (different ids, different cgroup paths) makes no difference.
func TestTwinsWithTheSameProgramAreSilent(t *testing.T) {
	root := cgroupRoot(t)
	p := newPair(t, root)
	attach(t, p.cg[0], denyPort(t, 9090))
	attach(t, p.cg[1], denyPort(t, 9090))
	reps := p.collect(t, nil)
	sa, sb := section(t, reps[0]), section(t, reps[1])
	if len(programs(sa)) != 1 || len(programs(sb)) != 1 || sa.Levels[0].Programs[0].ID == sb.Levels[0].Programs[0].ID {
		t.Fatalf("want one program each, loaded twice: %v %v", sa, sb)
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		if r.Section == cgroupbpf.Name && !r.Equal && r.Kind != probe.ShowOnly {
			t.Errorf("twins differ: %s %v", r.Key, r.Values)
		}
	}
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Rule, cgroupbpf.Name+"/") {
			t.Errorf("finding between twins: %+v", f)
		}
	}
}

// runtimeDefaultCaps are the capabilities a container runtime (containerd, CRI-O) gives a
// root container by default: what kubectl's baseline profile leaves the prober.
const runtimeDefaultCaps = "+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write"

// TestUnprivilegedSaysWhatIsMissing runs the prober as root with the capabilities each
// of kubectl debug's profiles leaves it (setpriv's bounding set; the kernel checks the
// same capabilities in a container): without CAP_NET_ADMIN (baseline, general) the
// listing is refused and the section names CAP_NET_ADMIN; with it (netadmin) the program
// is listed by hook and level, and the section says its name and tag need CAP_SYS_ADMIN;
// CAP_SYS_ADMIN alone reads everything.
func TestUnprivilegedSaysWhatIsMissing(t *testing.T) {
	root := cgroupRoot(t)
	p := newPair(t, root)
	attach(t, p.cg[1], denyPort(t, 9090))
	refused := func(t *testing.T, s cgroupbpf.Section) {
		e := s.Errors["query"]
		if e == nil || e.Errno != "EPERM" || !strings.Contains(e.Message, "CAP_NET_ADMIN") || len(programs(s)) != 0 {
			t.Fatalf("want a query error naming CAP_NET_ADMIN and no programs, got %+v", s)
		}
		t.Logf("says: %s", e.Message)
	}
	listed := func(t *testing.T, s cgroupbpf.Section) {
		e := s.Errors["info"]
		got := programs(s)
		if e == nil || e.Errno != "EPERM" || !strings.Contains(e.Message, "CAP_SYS_ADMIN") || len(got) != 1 || got[0] != "connect4 self " {
			t.Fatalf("want the program listed without its name and an info error naming CAP_SYS_ADMIN, got %v %+v", got, s)
		}
		t.Logf("says: %s", e.Message)
	}
	full := func(t *testing.T, s cgroupbpf.Section) {
		if got := programs(s); len(s.Errors) != 0 || len(got) != 1 || got[0] != "connect4 self nd_deny_9090" {
			t.Fatalf("want the program fully described and no error, got %v %+v", got, s)
		}
	}
	for _, tc := range []struct {
		name, caps string
		check      func(*testing.T, cgroupbpf.Section)
	}{
		{"no-capabilities", "-all", refused},
		{"baseline", "-all," + runtimeDefaultCaps, refused},
		{"general", "-all," + runtimeDefaultCaps + ",+sys_ptrace", refused},
		{"net-admin-only", "-all,+net_admin", listed},
		{"netadmin", "-all," + runtimeDefaultCaps + ",+net_admin", listed},
		{"sys-admin-only", "-all,+sys_admin", full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reps := p.collect(t, []string{"setpriv", "--inh-caps=-all", "--bounding-set=" + tc.caps})
			tc.check(t, section(t, reps[1]))
			if tc.name != "baseline" {
				return
			}
			// Under the default profile nothing lists the program, and the immediate EPERM
			// with a working route still names a cgroup BPF program and how to see it.
			res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
			if err != nil {
				t.Fatal(err)
			}
			top := res.Findings[0]
			if top.Kind != contract.Cause || top.Rule != cgroupbpf.Name+"/refused-connect" || !strings.Contains(top.Message, "--profile netadmin") || len(top.Explains) == 0 {
				var out strings.Builder
				_ = render.Render(&out, res, "wide", render.Options{})
				t.Fatalf("the first finding does not name a refusing cgroup BPF program:\n%s", out.String())
			}
			t.Logf("first: %s", top.Message)
		})
	}
}

// portFromMap is a cgroup/connect4 program that refuses the port held in the first entry
// of an array map: the same code (the same tag) wherever it is loaded, its verdict set by
// its map, as a socket load balancer's is by its service table.
func portFromMap(t *testing.T, port uint16) *ebpf.Program {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "nd_port", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Skipf("the kernel does not create an array map: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Put(uint32(0), uint32(port>>8|(port&0xff)<<8)); err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:       "nd_port_map",
		Type:       ebpf.CGroupSockAddr,
		AttachType: ebpf.AttachCGroupInet4Connect,
		License:    "Apache-2.0",
		Instructions: asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "allow"),
			asm.LoadMem(asm.R2, asm.R0, 0, asm.Word),
			asm.LoadMem(asm.R3, asm.R6, 24, asm.Word),
			asm.JEq.Reg(asm.R3, asm.R2, "deny"),
			asm.Mov.Imm(asm.R0, 1).WithSymbol("allow"),
			asm.Return(),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("deny"),
			asm.Return(),
		},
	})
	if err != nil {
		t.Skipf("the kernel does not load a cgroup/connect4 program with a map: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// TestSameProgramDifferentMaps: both pods run the same connect4 program (same name and
// tag, so no row differs), but pod-b's map holds 9090: its connects there fail with EPERM
// and the first finding names the program on its path and says its maps decide.
func TestSameProgramDifferentMaps(t *testing.T) {
	root := cgroupRoot(t)
	p := newPair(t, root)
	attach(t, p.cg[0], portFromMap(t, 7777))
	attach(t, p.cg[1], portFromMap(t, 9090))
	reps := p.collect(t, nil)
	sa, sb := section(t, reps[0]), section(t, reps[1])
	if len(sa.Levels) == 0 || len(sb.Levels) == 0 || len(sa.Levels[0].Programs) != 1 || len(sb.Levels[0].Programs) != 1 ||
		sa.Levels[0].Programs[0].Tag != sb.Levels[0].Programs[0].Tag {
		t.Fatalf("want the same program (same tag) in both: %+v / %+v", sa, sb)
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	top := res.Findings[0]
	want := regexp.MustCompile(`pod-b's TCP connects to tcp://<peer>:9090 fail at once with EPERM .* the cgroup connect4 program nd_port_map \(tag [0-9a-f]+\) at its own cgroup .*, the same code as in pod-a: it decides by the state in its maps`)
	if top.Kind != contract.Cause || top.Rule != cgroupbpf.Name+"/refused-connect" || !want.MatchString(top.Message) || len(top.Explains) == 0 {
		t.Fatalf("the first finding does not name the program and its maps:\n%s", out.String())
	}
	t.Logf("first: %s", top.Message)
}

// subCgroup makes a child cgroup of dir, removed at cleanup before dir.
func subCgroup(t *testing.T, dir, name string) string {
	t.Helper()
	sub := filepath.Join(dir, name)
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err := os.Remove(sub); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return sub
}

// TestEphemeralContainerView builds what an ephemeral container sees: each pod a cgroup
// holding the app's cgroup and the prober's, the app in a cgroup namespace of its own with
// its own cgroup2 mount at /sys/fs/cgroup, the prober in another cgroup namespace, so the
// app's cgroup reads "/../app" and no mount of the prober's shows it. In pod-b a connect4
// program refusing 9090 is attached at the pod's cgroup and one refusing 8080 at the
// app's. The section reads the app's cgroup through /proc/PID/root: the app's program at
// "self", the pod's in "above" (in effect, from an ancestor it cannot see). The prober's
// own connects to 9090 fail (the pod's program governs its cgroup too) and those to 8080
// work (the app's does not): the first finding is the pod-level program, and the
// app-level one explains nothing the prober saw.
func TestEphemeralContainerView(t *testing.T) {
	root := cgroupRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	deny9090, deny8080 := denyPort(t, 9090), denyPort(t, 8080)
	p := &pair{addr: [2]string{"10.78.0.1", "10.78.0.2"}}
	p.ns[0], p.ns[1] = netnstest.New(t, "cbpfEA"), netnstest.New(t, "cbpfEB")
	netnstest.Veth(t, p.ns[0], p.addr[0]+"/24", p.ns[1], p.addr[1]+"/24")
	netnstest.Settle(t, p.ns[:]...)
	var appCg [2]string
	for i, ns := range p.ns {
		for _, port := range []string{"8080", "9090"} {
			ns.ListenTCP(p.addr[i] + ":" + port)
		}
		pod := testCgroup(t, root, "epod"+string(rune('a'+i)))
		appCg[i], p.cg[i] = subCgroup(t, pod, "app"), subCgroup(t, pod, "prober")
		if i == 1 {
			attach(t, pod, deny9090)
			attach(t, appCg[i], deny8080)
		}
		cmd := exec.Command("unshare", "-C", "-m", "sh", "-c", "mount -t cgroup2 none /sys/fs/cgroup && exec sleep 300")
		startIn(t, ns, appCg[i], cmd)
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
		p.pid[i] = cmd.Process.Pid
		// Wait until the app's own cgroup2 mount is there (the shell has exec'd sleep).
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid[i]))
			if strings.TrimSpace(string(comm)) == "sleep" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the app did not start: %q", comm)
			}
		}
	}
	reps := p.collect(t, []string{"unshare", "-C"})
	sa, sb := section(t, reps[0]), section(t, reps[1])
	if sa.Via != "app-root" || sb.Via != "app-root" || len(programs(sa)) != 0 {
		t.Fatalf("want both read through the app's root, pod-a without programs: %+v / %+v", sa, sb)
	}
	if got := programs(sb); len(got) != 2 || got[0] != "connect4 self nd_deny_8080" || got[1] != "connect4 above nd_deny_9090" {
		t.Fatalf("pod-b lists %v, want the app's program at self and the pod's above; section %+v", got, sb)
	}
	if sb.Cgroup != "/../app" || sb.Levels[0].Prober {
		t.Errorf("pod-b's app cgroup %q, prober under it %v: want /../app, false", sb.Cgroup, sb.Levels[0].Prober)
	}

	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps[:], diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	top := res.Findings[0]
	if top.Kind != contract.Cause || !strings.Contains(top.Message, "pod-b has a cgroup connect4 program `nd_deny_9090`") ||
		!strings.Contains(top.Message, "at an ancestor cgroup the prober cannot see") || len(top.Explains) == 0 {
		t.Fatalf("the first finding is not the pod-level program:\n%s", out.String())
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Message, "nd_deny_8080") && len(f.Explains) > 0 {
			t.Errorf("the app-level program, which does not govern the prober, explains %v:\n%s", f.Explains, out.String())
		}
		if f.Kind == contract.Symptom && strings.Contains(f.Message, ":8080") {
			t.Errorf("the prober's connects to 8080 differ:\n%s", out.String())
		}
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
}
