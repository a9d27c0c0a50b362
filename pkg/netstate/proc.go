package netstate

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
)

// ParseNames reads a /proc/net/*_tables_{names,matches,targets} file: one name per line.
// Matches and targets repeat once per revision and family; the result is sorted and unique, at most limit names.
func ParseNames(b []byte, limit int) []string {
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if n := strings.TrimSpace(sc.Text()); n != "" && len(set) < limit {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SysctlValue turns a sysctl file's content into a single-line value: whitespace runs
// (tabs in ip_local_port_range, newlines in multi-line files) become one space, and
// values longer than limit are cut with a marker, so equal settings compare equal.
func SysctlValue(b []byte, limit int) string {
	cut := len(b) > limit
	if cut {
		b = b[:limit]
	}
	v := strings.Join(strings.Fields(string(b)), " ")
	if cut {
		v += " …(truncated)"
	}
	return v
}
