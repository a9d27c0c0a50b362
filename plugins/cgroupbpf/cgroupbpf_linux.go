package cgroupbpf

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// hooks are the cgroup attach types queried, in bpftool's names.
var hooks = []struct {
	name string
	at   ebpf.AttachType
}{
	{"ingress", ebpf.AttachCGroupInetIngress},
	{"egress", ebpf.AttachCGroupInetEgress},
	{"sock_create", ebpf.AttachCGroupInetSockCreate},
	{"sock_ops", ebpf.AttachCGroupSockOps},
	{"device", ebpf.AttachCGroupDevice},
	{"bind4", ebpf.AttachCGroupInet4Bind},
	{"bind6", ebpf.AttachCGroupInet6Bind},
	{"connect4", ebpf.AttachCGroupInet4Connect},
	{"connect6", ebpf.AttachCGroupInet6Connect},
	{"post_bind4", ebpf.AttachCGroupInet4PostBind},
	{"post_bind6", ebpf.AttachCGroupInet6PostBind},
	{"sendmsg4", ebpf.AttachCGroupUDP4Sendmsg},
	{"sendmsg6", ebpf.AttachCGroupUDP6Sendmsg},
	{"sysctl", ebpf.AttachCGroupSysctl},
	{"recvmsg4", ebpf.AttachCGroupUDP4Recvmsg},
	{"recvmsg6", ebpf.AttachCGroupUDP6Recvmsg},
	{"getsockopt", ebpf.AttachCGroupGetsockopt},
	{"setsockopt", ebpf.AttachCGroupSetsockopt},
	{"getpeername4", ebpf.AttachCgroupInet4GetPeername},
	{"getpeername6", ebpf.AttachCgroupInet6GetPeername},
	{"getsockname4", ebpf.AttachCgroupInet4GetSockname},
	{"getsockname6", ebpf.AttachCgroupInet6GetSockname},
	{"sock_release", ebpf.AttachCgroupInetSockRelease},
	{"connect_unix", ebpf.AttachCgroupUnixConnect},
	{"sendmsg_unix", ebpf.AttachCgroupUnixSendmsg},
	{"recvmsg_unix", ebpf.AttachCgroupUnixRecvmsg},
	{"getpeername_unix", ebpf.AttachCgroupUnixGetpeername},
	{"getsockname_unix", ebpf.AttachCgroupUnixGetsockname},
}

// maxPerHook is the kernel's limit of programs per cgroup and attach type (BPF_CGROUP_MAX_PROGS).
const maxPerHook = 64

// queryAttr is union bpf_attr's BPF_PROG_QUERY member. cilium/ebpf's link.QueryPrograms
// returns the ids but drops the attach flags, so the per-level listing asks the kernel
// directly; the effective list and the programs' info go through cilium/ebpf.
type queryAttr struct {
	targetFD        uint32
	attachType      uint32
	queryFlags      uint32
	attachFlags     uint32
	progIDs         uint64
	progCnt         uint32
	_               uint32
	progAttachFlags uint64
	linkIDs         uint64
	linkAttachFlags uint64
	revision        uint64
}

// queryAttached lists the programs attached to the cgroup fd for one hook, with the
// level's attach flags.
func queryAttached(fd int, at ebpf.AttachType) ([]uint32, uint32, error) {
	ids := make([]uint32, maxPerHook)
	attr := queryAttr{targetFD: uint32(fd), attachType: uint32(at),
		progIDs: uint64(uintptr(unsafe.Pointer(&ids[0]))), progCnt: maxPerHook}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_QUERY, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if errno != 0 {
		return nil, 0, errno
	}
	return ids[:min(attr.progCnt, maxPerHook)], attr.attachFlags, nil
}

func flagNames(f uint32) string {
	var out []string
	if f&unix.BPF_F_ALLOW_MULTI != 0 {
		out = append(out, "multi")
	}
	if f&unix.BPF_F_ALLOW_OVERRIDE != 0 {
		out = append(out, "override")
	}
	if f&unix.BPF_F_PREORDER != 0 {
		out = append(out, "preorder")
	}
	if rest := f &^ (unix.BPF_F_ALLOW_MULTI | unix.BPF_F_ALLOW_OVERRIDE | unix.BPF_F_PREORDER); rest != 0 {
		out = append(out, fmt.Sprintf("0x%x", rest))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// Collect finds the target's cgroup and lists the programs attached to it and to every
// ancestor the prober can see, then those in effect that come from ancestors it cannot.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	s := &Section{Errors: map[string]*report.Error{}}
	defer func() {
		if len(s.Errors) == 0 {
			s.Errors = nil
		}
	}()
	pid := env.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	data, err := os.ReadFile(filepath.Join(env.Proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		s.Errors["cgroup"] = report.ErrorOf(err)
		return s, nil
	}
	cg, ok := ParseCgroup(data)
	if !ok {
		s.Errors["cgroup"] = &report.Error{Message: errNoV2}
		return s, nil
	}
	s.Cgroup = cg
	if own, err := os.ReadFile(filepath.Join(env.Proc, "self", "cgroup")); err == nil {
		s.ProberCgroup, _ = ParseCgroup(own)
	}
	var chain []string
	var dirOf func(string) string
	var mounts []Mount
	if mi, err := os.ReadFile(filepath.Join(env.Proc, "self", "mountinfo")); err == nil {
		mounts = ParseMountinfo(mi)
		if _, m, ch, ok := Resolve(cg, mounts); ok {
			s.Mount, s.Via, chain = m.Point, "mountinfo", ch
			dirOf = func(p string) string { return Dir(m, p) }
		}
	}
	if chain == nil {
		// The app's own /sys/fs/cgroup (a container's cgroup namespace shows its cgroup
		// there) through /proc/PID/root, if it really holds the target.
		dir := filepath.Join(env.Proc, strconv.Itoa(pid), "root", "sys", "fs", "cgroup")
		if holds(dir, pid) {
			s.Mount, s.Via, chain = dir, "app-root", []string{cg}
			dirOf = func(string) string { return dir }
		}
	}
	if chain == nil {
		msg := errNotVisible
		if len(mounts) == 0 {
			msg = errNoMount
		}
		s.Errors["cgroup"] = &report.Error{Message: msg}
		return s, nil
	}
	seen := map[uint32]bool{}
	var all []*Program
	var selfFD = -1
	defer func() {
		if selfFD >= 0 {
			unix.Close(selfFD)
		}
	}()
	for n, p := range chain {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := Level{Level: LevelName(n, p), Path: p}
		if s.Via == "app-root" {
			// The app's cgroup seen through its own mount: not the prober's.
			l.Level = "self"
		} else {
			l.Prober = under(s.ProberCgroup, p)
		}
		fd, err := unix.Open(dirOf(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			l.Error = report.ErrorOf(err)
			s.Levels = append(s.Levels, l)
			continue
		}
		refused := false
		for _, h := range hooks {
			ids, flags, err := queryAttached(fd, h.at)
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
				e := report.ErrorOf(err)
				e.Message = errQuery + ": " + err.Error()
				s.Errors["query"] = e
				refused = true
				break
			}
			if err != nil {
				continue // a hook this kernel does not know (EINVAL)
			}
			for _, id := range ids {
				seen[id] = true
				l.Programs = append(l.Programs, Program{Attach: h.name, ID: id, Flags: flagNames(flags)})
			}
		}
		if n == 0 && !refused {
			selfFD = fd
		} else {
			unix.Close(fd)
		}
		s.Levels = append(s.Levels, l)
		if refused {
			return s, nil
		}
	}
	// The programs in effect for the target: any not seen at a visible level sit above.
	if selfFD >= 0 {
		effective := map[uint32]bool{}
		for _, h := range hooks {
			res, err := link.QueryPrograms(link.QueryOptions{Target: selfFD, Attach: h.at, QueryFlags: unix.BPF_F_QUERY_EFFECTIVE})
			if err != nil {
				if errors.Is(err, unix.EPERM) {
					s.Errors["effective"] = report.ErrorOf(err)
					effective = nil
					break
				}
				continue
			}
			for _, ap := range res.Programs {
				id := uint32(ap.ID)
				effective[id] = true
				if !seen[id] {
					seen[id] = true
					s.Above = append(s.Above, Program{Attach: h.name, ID: id})
				}
			}
		}
		if effective != nil {
			for k := range s.Levels {
				for m := range s.Levels[k].Programs {
					if p := &s.Levels[k].Programs[m]; !effective[p.ID] {
						p.Flags += ",overridden"
					}
				}
			}
		}
	}
	for k := range s.Levels {
		for m := range s.Levels[k].Programs {
			all = append(all, &s.Levels[k].Programs[m])
		}
	}
	for m := range s.Above {
		all = append(all, &s.Above[m])
	}
	s.Total = len(all)
	for _, p := range all {
		if err := describe(p); err != nil && s.Errors["info"] == nil {
			e := report.ErrorOf(err)
			if errors.Is(err, unix.EPERM) {
				e.Message = errInfo + ": " + err.Error()
			}
			s.Errors["info"] = e
		}
	}
	capPrograms(s)
	return s, nil
}

// describe fills a program's name, tag and type from its id: cilium/ebpf's
// NewProgramFromID opens it, and one BPF_OBJ_GET_INFO_BY_FD reads them. Program.Info is not
// used: it also copies the program's instructions and, for a program without maps, loads
// a probe program of its own to test a kernel feature, and the prober only reads.
func describe(p *Program) error {
	prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(p.ID))
	if err != nil {
		p.Error = report.ErrorOf(err)
		return err
	}
	defer prog.Close()
	info, err := progInfoOf(prog.FD())
	if err != nil {
		p.Error = report.ErrorOf(err)
		return err
	}
	p.Name = unix.ByteSliceToString(info.name[:])
	p.Tag = hex.EncodeToString(info.tag[:])
	p.Type = ebpf.ProgramType(info.typ).String()
	return nil
}

// progInfo is the head of struct bpf_prog_info, up to and including the name.
type progInfo struct {
	typ             uint32
	id              uint32
	tag             [8]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  uint64
	xlatedProgInsns uint64
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
	mapIDs          uint64
	name            [16]byte
}

// objInfoAttr is union bpf_attr's BPF_OBJ_GET_INFO_BY_FD member.
type objInfoAttr struct {
	fd      uint32
	infoLen uint32
	info    uint64
}

// progInfoOf reads the head of the program's bpf_prog_info by its fd.
func progInfoOf(fd int) (*progInfo, error) {
	info := &progInfo{}
	attr := objInfoAttr{fd: uint32(fd), infoLen: uint32(unsafe.Sizeof(*info)), info: uint64(uintptr(unsafe.Pointer(info)))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if errno != 0 {
		return nil, fmt.Errorf("program info: %w", errno)
	}
	return info, nil
}

// capPrograms keeps the first MaxPrograms programs, levels nearest the target first.
func capPrograms(s *Section) {
	left := MaxPrograms
	for k := range s.Levels {
		if n := len(s.Levels[k].Programs); n > left {
			s.Levels[k].Programs, s.Truncated = s.Levels[k].Programs[:left], true
		}
		left -= len(s.Levels[k].Programs)
	}
	if len(s.Above) > left {
		s.Above, s.Truncated = s.Above[:left], true
	}
}

// under reports whether cgroup c is p or one of its descendants.
func under(c, p string) bool {
	return c != "" && (p == "/" || c == p || strings.HasPrefix(c, p+"/"))
}

// holds reports whether dir is a cgroup2 directory whose cgroup.procs lists pid.
func holds(dir string, pid int) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return false
	}
	want := strconv.Itoa(pid)
	for _, l := range strings.Split(string(data), "\n") {
		if l == want {
			return true
		}
	}
	return false
}
