package netstate

import (
	"strings"

	"golang.org/x/sys/unix"
)

var stateNames = []struct {
	bit  int
	name string
}{
	{unix.NUD_INCOMPLETE, "INCOMPLETE"}, {unix.NUD_REACHABLE, "REACHABLE"}, {unix.NUD_STALE, "STALE"},
	{unix.NUD_DELAY, "DELAY"}, {unix.NUD_PROBE, "PROBE"}, {unix.NUD_FAILED, "FAILED"},
	{unix.NUD_NOARP, "NOARP"}, {unix.NUD_PERMANENT, "PERMANENT"},
}

// StateName names the NUD_* state bits as ip(8) does ("NONE" for none).
func StateName(st int) string {
	var p []string
	for _, s := range stateNames {
		if st&s.bit != 0 {
			p = append(p, s.name)
		}
	}
	if len(p) == 0 {
		return "NONE"
	}
	return strings.Join(p, "|")
}
