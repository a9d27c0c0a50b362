package target

import (
	"fmt"
	"net/netip"
	"strings"
)

// The keyed form: how a target names a probe's rows and how the diagnosis reads it back
// ("tcp://10.0.0.1:80/ipv4", "udp://[fd00::1]:53", "icmp://<peer>"), placeholders and
// all. Parse is for what a user types; these read what the diff keyed.

// Host is the host of "tcp://10.0.0.1:80", "udp://[fd00::1]:53", "icmp://x", "10.0.0.1:80".
func Host(t string) string {
	if _, rest, ok := strings.Cut(t, "://"); ok {
		t = rest
	}
	if i := strings.IndexAny(t, "/?#"); i >= 0 {
		t = t[:i]
	}
	if strings.HasPrefix(t, "[") {
		if end := strings.IndexByte(t, ']'); end > 0 {
			return t[1:end]
		}
	}
	if strings.Count(t, ":") == 1 {
		t, _, _ = strings.Cut(t, ":")
	}
	return t
}

// SplitKey splits "tcp://10.0.0.1:80/ipv4" into the target and its address key.
func SplitKey(k string) (target, addrKey string) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return k, ""
	}
	last := k[i+1:]
	if strings.HasPrefix(last, "ipv4") || strings.HasPrefix(last, "ipv6") {
		return k[:i], last
	}
	return k, ""
}

// Port is the port of "tcp://10.0.0.1:80" (0 if none) and its scheme.
func Port(t string) (scheme string, port int) {
	scheme, rest, ok := strings.Cut(t, "://")
	if !ok {
		rest, scheme = t, "tcp"
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		fmt.Sscanf(rest[i+1:], "%d", &port)
	}
	return scheme, port
}

// IsName reports whether a target's host is a name rather than an address or placeholder.
func IsName(target string) bool {
	h := Host(target)
	if h == "" || strings.HasPrefix(h, "<") {
		return false
	}
	_, err := netip.ParseAddr(h)
	return err != nil
}
