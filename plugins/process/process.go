// Package process reports the target process (--pid) as the network sees it: identity,
// capabilities, seccomp, limits, sockets, C library, network environment (credentials
// masked) and /etc/ld.so.preload; and the processes visible in its PID namespace.
package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const (
	// MaxProcesses caps the process list; a pod has a handful, a host thousands.
	MaxProcesses = 500
	// maxFDs bounds how many descriptors are inspected; counts beyond are not exact.
	maxFDs = 100000
	// maxRead bounds each /proc file read.
	maxRead = 1 << 20
)

// Target is the target process.
type Target struct {
	PID int `json:"pid"`
	// Error is set when the process cannot be read at all (ESRCH: no such process).
	Error   *report.Error `json:"error,omitempty"`
	Comm    string        `json:"comm,omitempty"`
	Exe     string        `json:"exe,omitempty"`
	Cmdline []string      `json:"cmdline,omitempty"`
	Uid     []int         `json:"uid,omitempty"`
	Gid     []int         `json:"gid,omitempty"`
	// Capability sets decoded to names.
	CapEff []string `json:"capEff,omitempty"`
	CapPrm []string `json:"capPrm,omitempty"`
	CapBnd []string `json:"capBnd,omitempty"`
	CapAmb []string `json:"capAmb,omitempty"`
	// Seccomp is "disabled", "strict" or "filter".
	Seccomp        string           `json:"seccomp,omitempty"`
	SeccompFilters int              `json:"seccompFilters,omitempty"`
	NoNewPrivs     *int             `json:"noNewPrivs,omitempty"`
	Limits         map[string]Limit `json:"limits,omitempty"`
	FDs            *FDs             `json:"fds,omitempty"`
	Libc           *Libc            `json:"libc,omitempty"`
	// Env holds the network-relevant variables only, credentials masked; EnvTotal counts all.
	Env      map[string]string `json:"env,omitempty"`
	EnvTotal int               `json:"envTotal,omitempty"`
	// LdSoPreload is /etc/ld.so.preload as the target sees it (entries, or the read error).
	LdSoPreload *Preload `json:"ldSoPreload,omitempty"`
	// Errors maps an item that could not be read (exe, environ, fd, maps…) to its errno.
	Errors map[string]string `json:"errors,omitempty"`
}

// FDs counts the target's open descriptors.
type FDs struct {
	Total   int  `json:"total"`
	Sockets int  `json:"sockets"`
	Capped  bool `json:"capped,omitempty"`
}

// Libc is the C library the target uses: from its memory map, else from the files of its root.
type Libc struct {
	Flavour  string `json:"flavour"` // musl, glibc, static, unknown
	Source   string `json:"source"`  // maps or root
	Evidence string `json:"evidence,omitempty"`
}

// Preload is /etc/ld.so.preload.
type Preload struct {
	Entries []string      `json:"entries,omitempty"`
	Error   *report.Error `json:"error,omitempty"`
}

// Proc is one visible process.
type Proc struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Comm string `json:"comm"`
	UID  int    `json:"uid"`
}

// Processes is the list of processes visible to the prober, without kernel threads and
// without the prober itself.
type Processes struct {
	List      []Proc        `json:"list"`
	Total     int           `json:"total"`
	Truncated bool          `json:"truncated,omitempty"`
	Error     *report.Error `json:"error,omitempty"`
}

// Section is the stored shape of sections.process.
type Section struct {
	Target    Target    `json:"target"`
	Processes Processes `json:"processes"`
}

type Plugin struct{}

const Name = "process"

func init() {
	section.Register(section.Descriptor[Section]{
		Name: Name,
		// Not Static: during the window the as-app probes run as children of the prober
		// (comm "exe"), and the process list would catch them in one pod and not another.
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"environment": envRule,
			"privileges":  privilegeRule,
			"runtime":     runtimeRule,
			"list":        listRule,
		},
		Analysis: &analysis,
	})
}

func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxRead))
}

func countFDs(dir string) (*FDs, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(maxFDs + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	fds := &FDs{}
	if len(names) > maxFDs {
		names, fds.Capped = names[:maxFDs], true
	}
	var firstErr error
	for _, n := range names {
		link, err := os.Readlink(filepath.Join(dir, n))
		if err != nil {
			// ENOENT: closed meanwhile. EACCES: the directory lists but the links need
			// ptrace access (a non-dumpable process).
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = err
			}
			continue
		}
		fds.Total++
		if strings.HasPrefix(link, "socket:[") {
			fds.Sockets++
		}
	}
	if fds.Total == 0 && firstErr != nil {
		return nil, firstErr
	}
	return fds, nil
}

// libc prefers the memory map (what is loaded) over the root's files (what is installed:
// an Alpine image with a glibc compat package has both).
func libc(dir string, fail func(string, error)) *Libc {
	if b, err := readBounded(filepath.Join(dir, "maps")); err != nil {
		fail("maps", err)
	} else if fl, ev, err := LibcFromMaps(bytes.NewReader(b)); err == nil {
		if fl != "" {
			return &Libc{Flavour: fl, Source: "maps", Evidence: ev}
		}
		if len(b) > 0 {
			return &Libc{Flavour: "static", Source: "maps", Evidence: "no C library mapped"}
		}
	}
	root := filepath.Join(dir, "root")
	for _, pat := range []string{"lib/ld-musl-*.so.1", "lib/ld-linux*.so*", "lib64/ld-linux*.so*", "lib/*-linux-gnu*/libc.so.6", "usr/lib/*-linux-gnu*/libc.so.6"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		if len(m) > 0 {
			rel, _ := filepath.Rel(root, m[0])
			return &Libc{Flavour: libcOfPath(filepath.Base(m[0])), Source: "root", Evidence: "/" + rel}
		}
	}
	return &Libc{Flavour: "unknown", Source: "root"}
}

// ReadProcesses lists the subject's processes (env.ListPIDs), skipping kernel threads and self (the
// prober is not part of the pod being compared).
func ReadProcesses(ctx context.Context, env *probe.Env, self int) Processes {
	ps := Processes{List: []Proc{}}
	proc := env.Proc
	pids, err := env.ListPIDs(self)
	if err != nil {
		ps.Error = report.ErrorOf(err)
		return ps
	}
	for _, pid := range pids {
		if ctx.Err() != nil {
			break
		}
		b, err := readBounded(filepath.Join(proc, strconv.Itoa(pid), "status"))
		if err != nil {
			continue // exited meanwhile
		}
		st, err := ParseStatus(bytes.NewReader(b))
		if err != nil || st.Kthread || pid == 2 || st.PPid == 2 || st.Name == "netdiff-prober" {
			continue
		}
		ps.Total++
		if len(ps.List) >= MaxProcesses {
			ps.Truncated = true
			continue
		}
		ps.List = append(ps.List, Proc{PID: pid, PPID: st.PPid, Comm: st.Name, UID: st.Uid[1]})
	}
	return ps
}

// facts flattens the section; see docs/sections/process.md.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	t := s.Target
	add("target/pid", strconv.Itoa(t.PID), probe.ShowOnly)
	if t.Error != nil {
		add("target/error", t.Error.Name(), probe.Exact)
	} else {
		add("target/comm", t.Comm, probe.Exact)
		if t.Exe != "" {
			add("target/exe", t.Exe, probe.Exact)
		}
		if t.Cmdline != nil {
			add("target/cmdline", strings.Join(t.Cmdline, " "), probe.ShowOnly)
		}
		add("target/uid", ints(t.Uid), probe.Exact)
		add("target/gid", ints(t.Gid), probe.Exact)
		if t.CapEff != nil {
			// One fact per capability, so the table shows which one differs; the
			// mask, as /proc prints it, for reference.
			for set, caps := range map[string][]string{"eff": t.CapEff, "prm": t.CapPrm, "bnd": t.CapBnd, "amb": t.CapAmb} {
				add("target/cap/"+set, fmt.Sprintf("%016x", capMask(caps)), probe.ShowOnly)
				for _, c := range caps {
					add("target/cap/"+set+"/"+c, "yes", probe.Exact)
				}
			}
		}
		if t.Seccomp != "" {
			add("target/seccomp", t.Seccomp, probe.Exact)
			add("target/seccomp-filters", strconv.Itoa(t.SeccompFilters), probe.ShowOnly)
		}
		if t.NoNewPrivs != nil {
			add("target/nonewprivs", strconv.Itoa(*t.NoNewPrivs), probe.Exact)
		}
		for name, l := range t.Limits {
			kind := probe.ShowOnly
			if name == "nofile" || name == "nproc" {
				kind = probe.Exact
			}
			add("target/rlimit/"+name, l.Soft+"/"+l.Hard, kind)
		}
		if t.FDs != nil {
			add("target/fds/total", strconv.Itoa(t.FDs.Total), probe.ShowOnly)
			add("target/fds/sockets", strconv.Itoa(t.FDs.Sockets), probe.ShowOnly)
		}
		if t.Libc != nil {
			add("target/libc", t.Libc.Flavour, probe.Exact)
			add("target/libc/evidence", t.Libc.Evidence, probe.ShowOnly)
		}
		if t.Env != nil {
			for k, v := range t.Env {
				add("target/env/"+k, v, probe.Exact)
			}
		}
		if p := t.LdSoPreload; p != nil {
			switch {
			case p.Error != nil && p.Error.Errno == "ENOENT":
				add("target/ld.so.preload", "(absent)", probe.Exact)
			case p.Error != nil:
				add("target/ld.so.preload", "unreadable: "+p.Error.Name(), probe.Exact)
			default:
				add("target/ld.so.preload", contract.OrNone(strings.Join(p.Entries, " ")), probe.Exact)
			}
		}
		for item, e := range t.Errors {
			add("target/error/"+item, e, probe.Exact)
		}
	}
	counts := map[string]int{}
	for _, p := range s.Processes.List {
		counts[p.Comm]++
	}
	for comm, n := range counts {
		add("processes/"+comm, strconv.Itoa(n), probe.Exact)
	}
	add("processes/(total)", strconv.Itoa(s.Processes.Total), probe.ShowOnly)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

// capMask turns capability names back into the mask /proc prints.
func capMask(caps []string) uint64 {
	var m uint64
	for _, c := range caps {
		if i := slices.Index(capNames, c); i >= 0 {
			m |= 1 << i
		} else if n, err := strconv.Atoi(strings.TrimPrefix(c, "CAP_")); err == nil && n >= 0 && n < 64 {
			m |= 1 << n
		}
	}
	return m
}
