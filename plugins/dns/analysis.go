package dns

import (
	"net/netip"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: each query row is a probe of its nameserver over its transport, for its name.
var analysis = diff.Analysis{Role: diff.Outcome, Probes: probeOf}

func probeOf(c *diff.Comparison, r diff.Row) (diff.Probe, bool) {
	// "ns1/udp/kubernetes.default.svc.cluster.local./A"
	parts := strings.Split(r.Key, "/")
	if len(parts) != 4 || (parts[1] != "udp" && parts[1] != "tcp") {
		return diff.Probe{}, false
	}
	server := ""
	if ns, ok := c.Row(Name, parts[0]); ok {
		for i, v := range ns.Values {
			if ns.Present(i) {
				server = v
				break
			}
		}
	}
	ak := "ipv4"
	host := server
	if a, err := netip.ParseAddr(server); err == nil && a.Is6() {
		ak, host = "ipv6", "["+server+"]"
	}
	return diff.Probe{Target: parts[1] + "://" + host + ":53", AddrKey: ak, Proto: parts[1], Port: 53,
		Name: strings.TrimSuffix(parts[2], "."),
		Status: diff.Statuses(r, func(v string) diff.Status {
			switch {
			case strings.HasPrefix(v, "error "):
				return diff.ErrnoStatus(v)
			case strings.HasPrefix(v, "NOERROR"):
				return diff.OK
			}
			return diff.FailRemote
		})}, true
}
