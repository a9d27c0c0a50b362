package cgroupbpf

import (
	"bufio"
	"bytes"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ParseCgroup returns the cgroup v2 path of a /proc/PID/cgroup file (its "0::PATH"
// line), and whether there is one. On a hybrid host the v1 lines are ignored.
func ParseCgroup(data []byte) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok && p != "" {
			return p, true
		}
	}
	return "", false
}

// Mount is one cgroup2 mount: Root is the cgroup the mount shows at Point.
type Mount struct {
	Root, Point string
}

// ParseMountinfo returns the cgroup2 mounts of a /proc/PID/mountinfo file in order.
func ParseMountinfo(data []byte) []Mount {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for k, v := range f {
			if v == "-" {
				sep = k
				break
			}
		}
		if sep < 5 || sep+1 >= len(f) || f[sep+1] != "cgroup2" {
			continue
		}
		out = append(out, Mount{Root: unescape(f[3]), Point: unescape(f[4])})
	}
	return out
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		if s[k] == '\\' && k+4 <= len(s) {
			if n, err := strconv.ParseUint(s[k+1:k+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				k += 3
				continue
			}
		}
		b.WriteByte(s[k])
	}
	return b.String()
}

// Resolve finds the directory of cgroup cg under the mounts: the mount whose root is the
// longest prefix of cg. It returns the directory of cg and the cgroups from cg up to the
// mount's root (cg first), as paths in the hierarchy, or ok=false when no mount shows cg
// (a path that climbs out of the prober's cgroup namespace, "/../x", never resolves).
func Resolve(cg string, mounts []Mount) (dir string, m Mount, chain []string, ok bool) {
	if !strings.HasPrefix(cg, "/") || slices.Contains(strings.Split(cg, "/"), "..") {
		return "", Mount{}, nil, false
	}
	cg = path.Clean(cg)
	best := -1
	for k, mt := range mounts {
		root := path.Clean(mt.Root)
		if root != "/" && cg != root && !strings.HasPrefix(cg, root+"/") {
			continue
		}
		if best < 0 || len(root) > len(path.Clean(mounts[best].Root)) {
			best = k
		}
	}
	if best < 0 {
		return "", Mount{}, nil, false
	}
	m = mounts[best]
	root := path.Clean(m.Root)
	for p := cg; ; p = path.Dir(p) {
		chain = append(chain, p)
		if p == root || p == "/" {
			break
		}
	}
	return Dir(m, cg), m, chain, true
}

// Dir is the directory of cgroup cg under mount m.
func Dir(m Mount, cg string) string {
	rel := strings.TrimPrefix(path.Clean(cg), path.Clean(m.Root))
	return path.Join(m.Point, rel)
}
