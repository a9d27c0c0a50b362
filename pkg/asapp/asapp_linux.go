package asapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Run runs the registered task as the app: a child of the prober (Exe, with the hidden
// subcommand) with the app's uid, gid and groups, and in its cgroup when r.Cgroup is set.
// in is sent to the child as JSON; the child's JSON result is decoded into out.
func (r *Runner) Run(ctx context.Context, id Process, task string, in, out any) error {
	req, err := json.Marshal(in)
	if err != nil {
		return err
	}
	groups := make([]uint32, len(id.Groups))
	for i, g := range id.Groups {
		groups[i] = uint32(g)
	}
	cmd := exec.CommandContext(ctx, r.Exe, ChildCommand, task)
	cmd.Env = []string{} // the child needs nothing of the prober's environment
	cmd.Dir = "/"
	// Killed at ctx's end; its output pipe is not waited on much longer.
	cmd.WaitDelay = 200 * time.Millisecond
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(id.UID), Gid: uint32(id.GID), Groups: groups},
		Pdeathsig:  syscall.SIGKILL,
	}
	if r.Cgroup {
		switch {
		case id.CgroupError != "":
			return fmt.Errorf("the app's cgroup: %s", id.CgroupError)
		case id.Cgroup == "":
			return errors.New("the app has no cgroup v2 path (/proc/PID/cgroup has no 0:: line)")
		}
		root := r.CgroupRoot
		if root == "" {
			if root = UnifiedRoot(); root == "" {
				return errors.New("no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
			}
		}
		dir := filepath.Join(root, filepath.Clean("/"+id.Cgroup))
		fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the app's cgroup %s: %w", dir, err)
		}
		defer unix.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	var stdout, stderr capped
	stdout.max, stderr.max = maxIO, 4096
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		switch {
		case errors.Is(err, unix.EPERM):
			return fmt.Errorf("start a child as %s: %w (switching to the app's identity needs CAP_SETUID and CAP_SETGID)", id, err)
		case errors.Is(err, unix.EACCES):
			return fmt.Errorf("start a child as %s: %w (the prober binary must be executable by uid %d)", id, err, id.UID)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return fmt.Errorf("child as %s: %w: %s", id, err, msg)
		}
		return fmt.Errorf("child as %s: %w", id, err)
	}
	if stdout.over {
		return fmt.Errorf("child as %s: output over %d bytes", id, maxIO)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("child as %s: decode its result: %w", id, err)
	}
	return nil
}

// capped is a buffer that keeps at most max bytes and notes that more came.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.Len(); len(p) > room {
		p, c.over = p[:max(room, 0)], true
	}
	c.Buffer.Write(p)
	return n, nil
}

// UnifiedRoot is where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a cgroup v2
// host, /sys/fs/cgroup/unified on a hybrid one; "" when there is none.
func UnifiedRoot() string {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir
		}
	}
	return ""
}
