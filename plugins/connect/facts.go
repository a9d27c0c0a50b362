package connect

import (
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Fact key builders, shared by Facts and the rules so both name the same rows.

// ResolveKey is the resolver's answer for a name target.
func ResolveKey(tgt string) string { return "resolve/" + tgt }

// RunKey is a run of a TCP method: "tcp/nonblocking/tcp://10.0.0.1:80/ipv4",
// burst runs use the method "nonblocking-burst".
func RunKey(method string, burst bool, tgt, addrKey string) string {
	if burst {
		method += "-burst"
	}
	return "tcp/" + method + "/" + tgt + "/" + addrKey
}

// AsAppSuffix marks a method run as the app: "tcp/nonblocking-as-app/tcp://10.0.0.1:80/ipv4",
// "tcp/nonblocking-burst-as-app/…".
const AsAppSuffix = "-as-app"

// AsAppKey is a run of a TCP method as the app.
func AsAppKey(method string, burst bool, tgt, addrKey string) string {
	if burst {
		method += "-burst"
	}
	return "tcp/" + method + AsAppSuffix + "/" + tgt + "/" + addrKey
}

// AsAppIdentityKey holds who the app is ("uid 1000 gid 1000 groups 1000"), or why no
// probe ran as the app; AsAppErrorKey why they could not run.
const (
	AsAppIdentityKey = "as-app/identity"
	AsAppStatusKey   = "as-app/status"
)

// sameUID starts the reason no probe ran as the app because it runs as the prober does.
const sameUID = "the app runs as uid"

// PMTUKey is the path MTU of a TCP target's address.
func PMTUKey(tgt, addrKey string) string { return "tcp/pmtu/" + tgt + "/" + addrKey }

// UDPKey is the UDP probe of an address.
func UDPKey(tgt, addrKey string) string { return "udp/" + tgt + "/" + addrKey }

// facts flattens the section. Outcomes are Exact ("ok 5/5", "ENETUNREACH 5/5 (immediate)"),
// latencies Info.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	for _, t := range s.Targets {
		if r := t.Resolve; r != nil && !r.Literal {
			add(ResolveKey(t.Target), FormatResolution(r), probe.Exact)
		}
		for _, a := range t.Addresses {
			if a.UDP != nil {
				add(UDPKey(t.Target, a.Key), a.UDP.Format("reply"), probe.Exact)
				add(UDPKey(t.Target, a.Key)+"/latency", a.UDP.FormatLatency(), probe.ShowOnly)
			}
			out = append(out, methodFacts(RunKey, t.Target, a)...)
			if t.Scheme == "tcp" {
				add(PMTUKey(t.Target, a.Key), FormatPMTU(a), probe.Exact)
			}
		}
	}
	if s.AsApp != nil {
		out = append(out, asAppFacts(s.AsApp)...)
	}
	return out
}

// asAppFacts: who the app is and whether its probes ran (Info: the process section
// compares the app's identity), and one Exact fact per method run as the app.
func asAppFacts(a *AsApp) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	if a.Identity != nil {
		add(AsAppIdentityKey, a.Identity.String(), probe.ShowOnly)
	}
	switch {
	case a.Error != nil:
		add(AsAppStatusKey, "not run: "+a.Error.Message, probe.ShowOnly)
	case a.Skipped != "":
		add(AsAppStatusKey, "not run: "+a.Skipped, probe.ShowOnly)
	default:
		status := "ran"
		if a.Cgroup {
			status += " in the app's cgroup"
		}
		add(AsAppStatusKey, status, probe.ShowOnly)
	}
	for _, t := range a.Targets {
		for _, ad := range t.Addresses {
			out = append(out, methodFacts(AsAppKey, t.Target, ad)...)
		}
	}
	return out
}

// FormatResolution is "ipv4 10.0.0.1, ipv6 fd00::1" in resolver order, or the error.
func FormatResolution(r *netprobe.Resolution) string {
	if r.Error != nil {
		return "error " + r.Error.Name()
	}
	if len(r.Addresses) == 0 {
		return "no addresses"
	}
	parts := make([]string, 0, len(r.Addresses))
	for _, a := range (&netprobe.Resolution{Addresses: r.Addresses}).Addrs() {
		parts = append(parts, a.Family+" "+a.IP.String())
	}
	return strings.Join(parts, ", ")
}

// FormatPMTU is the path MTU in bytes, or why it is unknown.
func FormatPMTU(a AddrResult) string {
	if a.PathMTU > 0 {
		return strconv.Itoa(a.PathMTU)
	}
	if a.PathMTUError != nil {
		return "unknown: " + a.PathMTUError.Name()
	}
	return "unknown"
}

// methodFacts: the outcome of each TCP connect method (sequential and burst) to one
// address (Exact) and its latency (Info), under the keys key makes (root's or the app's).
func methodFacts(key func(method string, burst bool, target, addr string) string, target string, a AddrResult) []probe.Fact {
	var out []probe.Fact
	add := func(method string, burst bool, r *netprobe.Run) {
		k := key(method, burst, target, a.Key)
		out = append(out, probe.Fact{Key: k, Value: r.Format("ok"), Kind: probe.Exact},
			probe.Fact{Key: k + "/latency", Value: r.FormatLatency(), Kind: probe.ShowOnly})
	}
	for _, m := range []struct {
		name string
		r    *MethodResult
	}{{Blocking, a.Blocking}, {Nonblocking, a.Nonblocking}} {
		if m.r == nil {
			continue
		}
		add(m.name, false, &m.r.Sequential)
		if m.r.Burst != nil {
			add(m.name, true, m.r.Burst)
		}
	}
	return out
}
