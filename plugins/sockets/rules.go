package sockets

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// countIn is subject i's count in a count row (0 when absent or unreadable).
func countIn(r contract.Row, i int) int {
	if !r.Present(i) {
		return 0
	}
	n, _ := strconv.Atoi(r.Values[i])
	return n
}

// splitGroup reads "PREFIXCOMM/TABLE/VALUE" back; VALUE may hold slashes (none do today).
func splitGroup(key, prefix string) (comm, table, value string, ok bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// groupRule reports, for every differing count row under prefix, each subject holding
// more such sockets than the fewest any subject holds: what one pod's processes do that
// another's do not.
func groupRule(c *contract.Comparison, prefix string, f func(subject, comm, table, value string, n int) contract.Finding) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Section("sockets") {
		// Not r.Equal: a key about the peer ("SYN-SENT to <peer>:80") counts as equal when
		// only the peer lacks it, yet one side holding stuck sockets is the point.
		comm, table, value, ok := splitGroup(r.Key, prefix)
		if !ok {
			continue
		}
		least, most := -1, 0
		for i := range c.Subjects {
			n := countIn(r, i)
			if least < 0 || n < least {
				least = n
			}
			most = max(most, n)
		}
		if most == least {
			continue
		}
		for i, s := range c.Subjects {
			if n := countIn(r, i); n > least {
				fd := f(s, comm, table, value, n)
				fd.Keys = []string{r.ID()}
				out = append(out, fd)
			}
		}
	}
	return out
}

// synSentRule: connects that never get an answer. The SYN leaves and nothing comes back
// (a drop on the path, a blackholed neighbour, a policy), which a fresh probe may not
// reproduce when the app's sockets are bound differently.
func synSentRule(c *contract.Comparison) []contract.Finding {
	return groupRule(c, keySynSent, func(s, comm, table, to string, n int) contract.Finding {
		sev := contract.Medium
		if n >= 3 {
			sev = contract.High
		}
		return contract.Finding{Severity: sev,
			Message: fmt.Sprintf("%s's %s has %d %s socket(s) stuck in SYN-SENT to %s: its SYNs get no answer", s, comm, n, table, to)}
	})
}

// boundRule: a socket bound to a device or a source address is routed from there, not
// the way a fresh socket (or netdiff's own probe) is.
func boundRule(c *contract.Comparison) []contract.Finding {
	out := groupRule(c, keyDev, func(s, comm, table, dev string, n int) contract.Finding {
		return contract.Finding{Severity: contract.High,
			Message: fmt.Sprintf("%s's %s binds %d %s socket(s) to device %s (SO_BINDTODEVICE): they route only through it, unlike a fresh socket", s, comm, n, table, dev)}
	})
	return append(out, groupRule(c, keyAddr, func(s, comm, table, addr string, n int) contract.Finding {
		return contract.Finding{Severity: contract.Medium,
			Message: fmt.Sprintf("%s's %s binds %d outgoing %s socket(s) to source address %s: routes and rules that match on the source apply to them", s, comm, n, table, addr)}
	})...)
}

// markRule: a fwmark picks policy routing rules (fwmark) and netfilter matches; a socket
// with one can take a different route than netdiff's unmarked probes.
func markRule(c *contract.Comparison) []contract.Finding {
	return groupRule(c, keyMark, func(s, comm, table, mark string, n int) contract.Finding {
		return contract.Finding{Severity: contract.High,
			Message: fmt.Sprintf("%s has %d %s socket(s) with fwmark %s (held by %s): fwmark rules and netfilter treat them differently from unmarked traffic", s, n, table, mark, comm)}
	})
}

// listenRule: a port one subject serves on IPv4 that another serves only on IPv6 (a
// v6only [::] listener or a specific IPv6 address) refuses IPv4 clients there.
func listenRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Section("sockets") {
		if r.Equal || !strings.HasPrefix(r.Key, keyListen) {
			continue
		}
		proto, port, _ := strings.Cut(strings.TrimPrefix(r.Key, keyListen), "/")
		v4 := false
		for i := range c.Subjects {
			if r.Present(i) && (strings.HasPrefix(r.Values[i], reachDual) || strings.HasPrefix(r.Values[i], reachV4)) {
				v4 = true
			}
		}
		if !v4 {
			continue
		}
		for i, s := range c.Subjects {
			if r.Present(i) && strings.HasPrefix(r.Values[i], reachV6) {
				out = append(out, contract.Finding{Severity: contract.High, Keys: []string{r.ID()},
					Message: fmt.Sprintf("%s listens on %s :%s only on IPv6 (%s) where another subject accepts IPv4: IPv4 clients are refused", s, proto, port, strings.TrimPrefix(r.Values[i], reachV6+" "))})
			}
		}
	}
	return out
}
