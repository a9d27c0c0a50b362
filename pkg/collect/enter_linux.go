package collect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"golang.org/x/sys/unix"
)

// containerIDPattern is what a CRI container ID looks like once its scheme is cut
// ("containerd://", "cri-o://", "docker://"): 64 hex digits; shorter ones are refused, a
// prefix would match other containers.
var containerIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ContainerPID finds the main process of a container on its node, from the container's
// ID in a host PID namespace. A process belongs to the container when a path of its
// /proc/PID/cgroup has the ID as a whole component ("<id>", "cri-containerd-<id>.scope",
// "crio-<id>.scope", "docker-<id>.scope"; never CRI-O's "crio-conmon-<id>.scope", the
// monitor beside the container). Of those, the container's PID 1 (the last NSpid field is
// 1) is the main process, else the one started first. All of them must share one network
// namespace, and not the prober's own: otherwise the wrong world would be reported as the
// pod's, and ContainerPID refuses.
func ContainerPID(proc, id string) (int, error) {
	if _, rest, ok := strings.Cut(id, "://"); ok {
		id = rest
	}
	if !containerIDPattern.MatchString(id) {
		return 0, fmt.Errorf("container ID %q is not 64 hex digits (as in the pod's status.containerStatuses[].containerID)", id)
	}
	names, err := filepath.Glob(filepath.Join(proc, "[0-9]*", "cgroup"))
	if err != nil {
		return 0, err
	}
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(n)))
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(n); err == nil && inContainer(string(b), id) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("no process of container %s is visible in %s: is this prober on the container's node, in the host PID namespace?", id[:12], proc)
	}
	nets := map[string]bool{}
	best, bestStart, bestOne := 0, uint64(0), false
	for _, pid := range pids {
		dir := filepath.Join(proc, strconv.Itoa(pid))
		ns, err := os.Readlink(filepath.Join(dir, "ns", "net"))
		if err != nil {
			continue // exited meanwhile
		}
		nets[ns] = true
		one, start := isNSInit(dir), startTime(dir)
		if best == 0 || one && !bestOne || one == bestOne && start < bestStart {
			best, bestStart, bestOne = pid, start, one
		}
	}
	if len(nets) > 1 {
		return 0, fmt.Errorf("the processes of container %s are in %d network namespaces: refusing to guess which is the pod's", id[:12], len(nets))
	}
	if self, err := os.Readlink(filepath.Join(proc, "self", "ns", "net")); err == nil && nets[self] {
		return 0, fmt.Errorf("container %s shares the prober's network namespace (a hostNetwork pod?): its report would be the node's", id[:12])
	}
	if best == 0 {
		return 0, fmt.Errorf("the processes of container %s ended while they were looked at", id[:12])
	}
	return best, nil
}

// inContainer tells whether a /proc/PID/cgroup text names the container id as a whole
// path component of one of its cgroups.
func inContainer(cgroups, id string) bool {
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[2], "/") {
			c = strings.TrimSuffix(c, ".scope")
			if strings.Contains(c, "conmon") {
				continue
			}
			if c == id || strings.HasSuffix(c, "-"+id) {
				return true
			}
		}
	}
	return false
}

// isNSInit: the process is PID 1 of its own PID namespace (the last NSpid field).
func isNSInit(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NSpid:"); ok {
			f := strings.Fields(v)
			return len(f) > 1 && f[len(f)-1] == "1"
		}
	}
	return false
}

// startTime is field 22 of /proc/PID/stat (clock ticks since boot); the command name
// before it may hold spaces and parentheses, so fields count from its last ')'.
func startTime(dir string) uint64 {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return ^uint64(0)
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ^uint64(0)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return ^uint64(0)
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return ^uint64(0)
	}
	return n
}

// RunEntered runs this prober again with args inside the network and UTS namespaces of
// pid, and returns its error (an *exec.ExitError carries its status). setns changes only
// the calling thread, so the thread is locked, moved, and forks the child there: the
// child starts in the pod's namespaces. The thread stays locked (and moved) until the
// process exits, right after the child; no other goroutine ever runs on it.
func RunEntered(proc string, pid int, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	runtime.LockOSThread()
	for _, ns := range []struct {
		name string
		flag int
	}{{"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS}} {
		fd, err := unix.Open(filepath.Join(proc, strconv.Itoa(pid), "ns", ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the %s namespace of pid %d: %w", ns.name, pid, err)
		}
		err = unix.Setns(fd, ns.flag)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("enter the %s namespace of pid %d: %w (the node pod needs CAP_SYS_ADMIN)", ns.name, pid, err)
		}
	}
	cmd := exec.Command(filepath.Join(proc, "self", "exe"), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// A mount namespace of its own, where the child puts the app's resolv.conf and hosts
	// over the node pod's (MountAppFiles), so names resolve as in the pod.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	err := cmd.Run()
	var exited *exec.ExitError
	if errors.As(err, &exited) {
		if code := exited.ExitCode(); code >= 0 {
			return exit.Status(code) // the child said why on stderr
		}
		return fmt.Errorf("the collect in pid %d's namespaces was killed: %v", pid, exited)
	}
	return err
}

// MountAppFiles gives this process the app's /etc/resolv.conf and /etc/hosts (read
// through /proc/PID/root) in the private mount namespace RunEntered gave it, so names
// resolve as in the pod and not as on the node. The kernel refuses to bind a file of
// another mount namespace, so a small tmpfs over /etc holds copies: an ephemeral
// container's /etc is the same, the prober image's own (empty) with the pod's two files
// the kubelet writes into every container. Nothing propagates back to the node pod.
func MountAppFiles(proc string, pid int, logf func(string, ...any)) {
	files := map[string][]byte{}
	for _, f := range []string{"resolv.conf", "hosts"} {
		b, err := readCapped(filepath.Join(proc, strconv.Itoa(pid), "root", "etc", f), 1<<20)
		if err != nil {
			logf("app's /etc/%s: %v", f, err)
			continue
		}
		files[f] = b
	}
	if len(files) == 0 {
		return
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		logf("app's name files: make mounts private: %v; names resolve as on the node", err)
		return
	}
	if err := unix.Mount("tmpfs", "/etc", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=2m,mode=0755"); err != nil {
		logf("app's name files: tmpfs on /etc: %v; names resolve as on the node", err)
		return
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join("/etc", f), b, 0o644); err != nil {
			logf("app's /etc/%s: %v", f, err)
		}
	}
}

// readCapped reads at most limit bytes of a file (it comes from the pod).
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
