package dns

import (
	"net/netip"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: each query row is a probe of its nameserver over its transport, for its name.
var analysis = contract.Analysis{Role: contract.Outcome, Probes: probeOf}

func probeOf(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
	if name, ok := strings.CutPrefix(r.Key, "lookup/"); ok {
		return lookupProbe(r, name)
	}
	// "ns1/udp/kubernetes.default.svc.cluster.local./A"
	parts := strings.Split(r.Key, "/")
	if len(parts) != 4 || (parts[1] != "udp" && parts[1] != "tcp") {
		return contract.Probe{}, false
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
	return contract.Probe{Target: parts[1] + "://" + host + ":53", AddrKey: ak, Proto: parts[1], Port: 53,
		Name: strings.TrimSuffix(parts[2], "."),
		Status: contract.Statuses(r, func(v string) contract.Status {
			switch {
			case strings.HasPrefix(v, "error "):
				return contract.ErrnoStatus(v)
			case strings.HasPrefix(v, "NOERROR"):
				return contract.OK
			}
			return contract.FailRemote
		})}, true
}

// lookupProbe: a "lookup/NAME" row is the app's resolver's lookup of a name through the
// search list, a probe of the name (dns://NAME): what governs it is resolv.conf's search
// list, ndots and nameservers, and the paths to those servers that its queries measure.
func lookupProbe(r contract.Row, name string) (contract.Probe, bool) {
	if name == "" || strings.Contains(name, "/") {
		return contract.Probe{}, false
	}
	return contract.Probe{Target: "dns://" + name, AddrKey: "ipv4", Proto: "udp", Port: 53, Name: name,
		Status: contract.Statuses(r, func(v string) contract.Status {
			switch {
			case strings.HasPrefix(v, "error "):
				return contract.ErrnoStatus(v)
			case strings.HasPrefix(v, "NOERROR") && !strings.HasPrefix(v, "NOERROR (no answers)"):
				return contract.OK
			}
			return contract.FailRemote
		})}, true
}
