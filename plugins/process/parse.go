package process

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Status holds the lines of /proc/PID/status this plugin reports.
type Status struct {
	Name       string    `json:"name"`
	PPid       int       `json:"ppid"`
	Uid        [4]int    `json:"uid"` // real, effective, saved, filesystem
	Gid        [4]int    `json:"gid"`
	CapInh     uint64    `json:"-"`
	CapPrm     uint64    `json:"-"`
	CapEff     uint64    `json:"-"`
	CapBnd     uint64    `json:"-"`
	CapAmb     uint64    `json:"-"`
	NoNewPrivs int       `json:"noNewPrivs"`
	Seccomp    int       `json:"seccomp"`
	Filters    int       `json:"seccompFilters"`
	Kthread    bool      `json:"-"`
	has        fieldMask // which lines were present, so a missing line is not read as 0
}

type fieldMask uint16

const (
	hasCaps fieldMask = 1 << iota
	hasSeccomp
	hasNoNewPrivs
	hasUid
)

// ParseStatus reads /proc/PID/status. Unknown and malformed lines are skipped: fields come
// and go between kernel versions.
func ParseStatus(r io.Reader) (*Status, error) {
	s := &Status{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			s.Name = v
		case "PPid":
			s.PPid, _ = strconv.Atoi(v)
		case "Uid", "Gid":
			f := strings.Fields(v)
			if len(f) != 4 {
				continue
			}
			var ids [4]int
			for i := range f {
				ids[i], _ = strconv.Atoi(f[i])
			}
			if k == "Uid" {
				s.Uid, s.has = ids, s.has|hasUid
			} else {
				s.Gid = ids
			}
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
			m, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				continue
			}
			s.has |= hasCaps
			switch k {
			case "CapInh":
				s.CapInh = m
			case "CapPrm":
				s.CapPrm = m
			case "CapEff":
				s.CapEff = m
			case "CapBnd":
				s.CapBnd = m
			case "CapAmb":
				s.CapAmb = m
			}
		case "NoNewPrivs":
			s.NoNewPrivs, _ = strconv.Atoi(v)
			s.has |= hasNoNewPrivs
		case "Seccomp":
			s.Seccomp, _ = strconv.Atoi(v)
			s.has |= hasSeccomp
		case "Seccomp_filters":
			s.Filters, _ = strconv.Atoi(v)
		case "Kthread":
			s.Kthread = v == "1"
		}
	}
	return s, sc.Err()
}

// capNames are the capability bits in order (linux/capability.h, up to CAP_CHECKPOINT_RESTORE).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapNames decodes a capability mask; bits newer than this table become "CAP_<bit>".
func CapNames(mask uint64) []string {
	out := []string{}
	for bit := 0; bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		if bit < len(capNames) {
			out = append(out, capNames[bit])
		} else {
			out = append(out, "CAP_"+strconv.Itoa(bit))
		}
	}
	return out
}

// SeccompMode names the Seccomp: line of status.
func SeccompMode(n int) string {
	switch n {
	case 0:
		return "disabled"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return "mode-" + strconv.Itoa(n)
}

// Limit is one line of /proc/PID/limits.
type Limit struct {
	Soft string `json:"soft"`
	Hard string `json:"hard"`
}

// limitNames maps the text of /proc/PID/limits to the setrlimit resource names.
var limitNames = map[string]string{
	"Max cpu time": "cpu", "Max file size": "fsize", "Max data size": "data", "Max stack size": "stack",
	"Max core file size": "core", "Max resident set": "rss", "Max processes": "nproc",
	"Max open files": "nofile", "Max locked memory": "memlock", "Max address space": "as",
	"Max file locks": "locks", "Max pending signals": "sigpending", "Max msgqueue size": "msgqueue",
	"Max nice priority": "nice", "Max realtime priority": "rtprio", "Max realtime timeout": "rttime",
}

// ParseLimits reads /proc/PID/limits into resource name ("nofile") → soft/hard.
// The columns are fixed-width text after a name with spaces, so each line is matched
// against the known names.
func ParseLimits(r io.Reader) (map[string]Limit, error) {
	out := map[string]Limit{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line := sc.Text()
		for text, name := range limitNames {
			rest, ok := strings.CutPrefix(line, text+" ")
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) >= 2 {
				out[name] = Limit{Soft: f[0], Hard: f[1]}
			}
		}
	}
	return out, sc.Err()
}

// ParseEnviron splits /proc/PID/environ (NUL-separated NAME=value) into pairs, in order.
// Entries without '=' are kept with an empty value: programs can put anything there.
func ParseEnviron(b []byte) [][2]string {
	var out [][2]string
	for _, e := range bytes.Split(b, []byte{0}) {
		if len(e) == 0 {
			continue
		}
		k, v, _ := strings.Cut(string(e), "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// ParseCmdline splits /proc/PID/cmdline into arguments.
func ParseCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return []string{}
	}
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// LibcFromMaps tells the C library a process has loaded from /proc/PID/maps: "musl"
// (ld-musl-*.so.1 or libc.musl-*), "glibc" (libc.so.6 or ld-linux*), or "" when neither is
// mapped (a static binary, e.g. Go). evidence is the mapped path that decided it.
func LibcFromMaps(r io.Reader) (flavour, evidence string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasPrefix(f[5], "/") {
			continue
		}
		p := strings.Join(f[5:], " ")
		if fl := libcOfPath(path.Base(p)); fl != "" {
			return fl, p, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("read maps: %w", err)
	}
	return "", "", nil
}

func libcOfPath(base string) string {
	switch {
	case strings.HasPrefix(base, "ld-musl-"), strings.HasPrefix(base, "libc.musl-"):
		return "musl"
	case base == "libc.so.6", strings.HasPrefix(base, "ld-linux"):
		return "glibc"
	}
	return ""
}
