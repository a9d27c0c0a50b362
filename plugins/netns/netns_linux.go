package netns

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect reads namespace identities through env.Proc.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	return Read(env.Proc, env.PID), nil
}

// Read identifies the namespaces of this process and of pid under the procfs at proc.
func Read(proc string, pid int) *Section {
	s := &Section{PID: pid, Self: stat(filepath.Join(proc, "self", "ns", "net")), Target: map[string]NS{}}
	if b, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "random", "boot_id")); err == nil {
		s.BootID = strings.TrimSpace(string(b))
	}
	for _, k := range targetKinds {
		s.Target[k] = stat(filepath.Join(proc, strconv.Itoa(pid), "ns", k))
	}
	if t := s.Target["net"]; t.Error == nil && s.Self.Error == nil {
		same := s.Self.same(t)
		s.SameNetns = &same
	}
	return s
}

func stat(path string) NS {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return NS{Error: report.ErrorOf(fmt.Errorf("stat %s: %w", path, err))}
	}
	return NS{Inode: st.Ino, Dev: fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))}
}
