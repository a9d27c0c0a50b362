package prober

import (
	"bufio"
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

	"golang.org/x/sys/unix"
)

// containerIDPattern is what a CRI container ID looks like once its scheme is cut
// ("containerd://", "cri-o://", "docker://"): 64 hex digits; shorter ones are refused, a
// prefix would match other containers.
var containerIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ContainerPID finds the main process of a container on its node, from the container's
// ID in a host PID namespace: the process in a cgroup named for the ID whose parent is
// not (the container's first process; an exec'd shell or the app's children have it as
// an ancestor).
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
	in := map[int]bool{}
	for _, n := range names {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(n)))
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(n); err == nil && strings.Contains(string(b), id) {
			in[pid] = true
		}
	}
	best := 0
	for pid := range in {
		if in[ppid(proc, pid)] {
			continue
		}
		if best == 0 || pid < best {
			best = pid
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("no process of container %s is visible in %s: is this prober on the container's node, in the host PID namespace?", id[:12], proc)
	}
	return best, nil
}

func ppid(proc string, pid int) int {
	f, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// runEntered runs this prober again with args inside the network and UTS namespaces of
// pid, and returns its error (an *exec.ExitError carries its status). setns changes only
// the calling thread, so the thread is locked, moved, and forks the child there: the
// child starts in the pod's namespaces with no thread left behind in the node's. The
// locked thread is never unlocked, so the runtime discards it rather than reusing it.
func runEntered(pid int, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	runtime.LockOSThread()
	for _, ns := range []struct {
		name string
		flag int
	}{{"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS}} {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the %s namespace of pid %d: %w", ns.name, pid, err)
		}
		err = unix.Setns(fd, ns.flag)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("enter the %s namespace of pid %d: %w (the node pod needs CAP_SYS_ADMIN)", ns.name, pid, err)
		}
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exitStatus(exit.ExitCode())
	}
	return err
}
