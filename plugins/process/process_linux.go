package process

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect reads the target and the process list; nothing here fails the section.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	return &Section{
		Target:    ReadTarget(env.Proc, env.PID),
		Processes: ReadProcesses(ctx, env, os.Getpid()),
	}, nil
}

// ReadTarget reads what there is to know about pid. Each item that fails is recorded in
// Errors and the rest goes on; only a missing process ends it early.
func ReadTarget(proc string, pid int) Target {
	t := Target{PID: pid, Errors: map[string]string{}}
	dir := filepath.Join(proc, strconv.Itoa(pid))
	fail := func(item string, err error) { t.Errors[item] = report.ErrorOf(err).Name() }

	b, err := readBounded(filepath.Join(dir, "status"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.Error = &report.Error{Errno: "ESRCH", Code: int(unix.ESRCH), Message: "no such process: pid " + strconv.Itoa(pid) + " (pass --pid of a process in this PID namespace)"}
		} else {
			t.Error = report.ErrorOf(err)
		}
		t.Errors = nil
		return t
	}
	if st, err := ParseStatus(bytes.NewReader(b)); err != nil {
		fail("status", err)
	} else {
		t.Comm = st.Name
		t.Uid, t.Gid = st.Uid[:], st.Gid[:]
		if st.has&hasCaps != 0 {
			t.CapEff, t.CapPrm, t.CapBnd, t.CapAmb = CapNames(st.CapEff), CapNames(st.CapPrm), CapNames(st.CapBnd), CapNames(st.CapAmb)
		}
		if st.has&hasSeccomp != 0 {
			t.Seccomp, t.SeccompFilters = SeccompMode(st.Seccomp), st.Filters
		}
		if st.has&hasNoNewPrivs != 0 {
			n := st.NoNewPrivs
			t.NoNewPrivs = &n
		}
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err != nil {
		fail("exe", err)
	} else {
		t.Exe = exe
	}
	if b, err := readBounded(filepath.Join(dir, "cmdline")); err != nil {
		fail("cmdline", err)
	} else {
		t.Cmdline = RedactArgs(ParseCmdline(b))
	}
	if b, err := readBounded(filepath.Join(dir, "limits")); err != nil {
		fail("limits", err)
	} else if l, err := ParseLimits(bytes.NewReader(b)); err != nil {
		fail("limits", err)
	} else {
		t.Limits = l
	}
	if fds, err := countFDs(filepath.Join(dir, "fd")); err != nil {
		fail("fd", err)
	} else {
		t.FDs = fds
	}
	t.Libc = libc(dir, fail)
	if b, err := readBounded(filepath.Join(dir, "environ")); err != nil {
		fail("environ", err)
	} else {
		t.Env = map[string]string{}
		for _, kv := range ParseEnviron(b) {
			t.EnvTotal++
			if IsNetworkEnv(kv[0]) {
				t.Env[kv[0]] = RedactEnv(kv[0], kv[1])
			}
		}
	}
	t.LdSoPreload = &Preload{}
	if b, err := readBounded(filepath.Join(dir, "root", "etc", "ld.so.preload")); err != nil {
		t.LdSoPreload.Error = report.ErrorOf(err)
	} else {
		for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == ':' }) {
			if !strings.HasPrefix(f, "#") {
				t.LdSoPreload.Entries = append(t.LdSoPreload.Entries, RedactValue(f))
			}
		}
	}
	if len(t.Errors) == 0 {
		t.Errors = nil
	}
	return t
}
