// Package asapp runs probes with the target application's identity: its uid, gid and
// supplementary groups (and, on request, inside its cgroup), so that what selects traffic
// by its owner (a policy rule's uidrange, a netfilter owner/skuid match, a program attached
// to the app's cgroup) applies to the probe as it applies to the app. The prober re-executes
// itself (/proc/self/exe) as a child with those credentials; the child runs one registered
// task and prints its result as JSON on stdout.
package asapp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/registry"
)

// ChildCommand is the prober's hidden subcommand that runs a task as the app.
const ChildCommand = "as-app-child"

// Process is the app process's identity as /proc/PID/status and /proc/PID/cgroup give it.
type Process struct {
	PID int `json:"pid"`
	// UID and GID are the effective ids, the ones the kernel's owner matches see.
	UID    int   `json:"uid"`
	GID    int   `json:"gid"`
	Groups []int `json:"groups"`
	// Cgroup is the app's cgroup v2 path ("/kubepods/…"), "" where there is none (v1 only)
	// or it cannot be named (CgroupError).
	Cgroup      string `json:"cgroup,omitempty"`
	CgroupError string `json:"cgroupError,omitempty"`
}

// String is "uid 1000 gid 1000 groups 1000,2000" (groups "-" when there are none).
func (id Process) String() string {
	g := "-"
	if len(id.Groups) > 0 {
		parts := make([]string, len(id.Groups))
		for i, n := range id.Groups {
			parts[i] = strconv.Itoa(n)
		}
		g = strings.Join(parts, ",")
	}
	return fmt.Sprintf("uid %d gid %d groups %s", id.UID, id.GID, g)
}

// ParseStatus reads the effective uid and gid and the supplementary groups from a
// /proc/PID/status file.
func ParseStatus(r io.Reader) (Process, error) {
	var id Process
	var haveUID, haveGID bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		switch k {
		case "Uid", "Gid":
			// real, effective, saved, filesystem
			if len(f) != 4 {
				return id, fmt.Errorf("status: %s line has %d fields, want 4", k, len(f))
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 {
				return id, fmt.Errorf("status: bad %s %q", k, f[1])
			}
			if k == "Uid" {
				id.UID, haveUID = n, true
			} else {
				id.GID, haveGID = n, true
			}
		case "Groups":
			id.Groups = []int{}
			for _, s := range f {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					return id, fmt.Errorf("status: bad group %q", s)
				}
				id.Groups = append(id.Groups, n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return id, err
	}
	if !haveUID || !haveGID {
		return id, fmt.Errorf("status: no Uid or Gid line")
	}
	if id.Groups == nil {
		id.Groups = []int{}
	}
	sort.Ints(id.Groups)
	return id, nil
}

// ParseCgroup returns the cgroup v2 path of a /proc/PID/cgroup file (its "0::" line), ""
// when the process has none (a cgroup v1 only host).
func ParseCgroup(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			if !strings.HasPrefix(p, "/") {
				return "", fmt.Errorf("cgroup: path %q is not absolute", p)
			}
			// The kernel shows a cgroup outside the reader's cgroup namespace as "/../…":
			// the reader cannot name it.
			if slices.Contains(strings.Split(p, "/"), "..") {
				return "", fmt.Errorf("cgroup %s is outside this process's cgroup namespace", p)
			}
			return filepath.Clean(p), nil
		}
	}
	return "", sc.Err()
}

// Read reads the identity of process pid from procfs.
func Read(proc string, pid int) (Process, error) {
	f, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "status"))
	if err != nil {
		return Process{}, err
	}
	defer f.Close()
	id, err := ParseStatus(io.LimitReader(f, 1<<20))
	if err != nil {
		return id, err
	}
	id.PID = pid
	c, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "cgroup"))
	if err == nil {
		id.Cgroup, err = ParseCgroup(io.LimitReader(c, 1<<20))
		c.Close()
	}
	if err != nil {
		id.CgroupError = err.Error()
	}
	return id, nil
}

// Capability bits of /proc/PID/status's CapEff.
const (
	capSetgid = 6
	capSetuid = 7
)

// MissingCaps reads the CapEff line of a /proc/PID/status file and names which of
// CAP_SETUID and CAP_SETGID it lacks (empty: it has both).
func MissingCaps(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("status: bad CapEff %q", strings.TrimSpace(v))
		}
		var out []string
		if m&(1<<capSetuid) == 0 {
			out = append(out, "CAP_SETUID")
		}
		if m&(1<<capSetgid) == 0 {
			out = append(out, "CAP_SETGID")
		}
		return out, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("status: no CapEff line")
}

// MissingCapsSelf names which of CAP_SETUID and CAP_SETGID the prober lacks.
func MissingCapsSelf(proc string) ([]string, error) {
	f, err := os.Open(filepath.Join(proc, "self", "status"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return MissingCaps(f)
}

// Runner runs tasks as the app. The prober sets one in probe.Env; nil means the binary
// running the plugins cannot re-execute itself as a prober (a test binary).
type Runner struct {
	// Exe is the prober binary the child runs ("/proc/self/exe").
	Exe string
	// Proc is the procfs mount point.
	Proc string
	// Cgroup also places the child in the app's cgroup (cgroup v2), so programs attached
	// there apply; CgroupRoot is where the cgroup v2 hierarchy is mounted ("": found
	// at /sys/fs/cgroup or, on a hybrid host, /sys/fs/cgroup/unified).
	Cgroup     bool
	CgroupRoot string
}

// Task is what a child runs: it reads its input (JSON) and returns a JSON-marshalable result.
type Task func(ctx context.Context, in json.RawMessage) (any, error)

var tasks = registry.New[Task]("as-app task")

// RegisterTask names a task a child can run; a plugin registers its own in init().
func RegisterTask(name string, fn Task) { tasks.Register(name, fn) }

// RunChild is the child's side: it runs the named task on the JSON read from in and writes
// the result as JSON to out.
func RunChild(ctx context.Context, name string, in io.Reader, out io.Writer) error {
	fn, ok := tasks.Lookup(name)
	if !ok {
		return fmt.Errorf("no as-app task %q", name)
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxIO))
	if err != nil {
		return err
	}
	v, err := fn(ctx, raw)
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(v)
}

// maxIO bounds what a child reads and what the parent reads back from it.
const maxIO = 16 << 20
