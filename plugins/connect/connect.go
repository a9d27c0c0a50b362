// Package connect probes TCP and UDP targets from inside the namespace: blocking and
// non-blocking connects done with raw syscalls (as the case study did by hand), repeated
// and in bursts, per resolved address and family, plus the path MTU of a connected socket.
package connect

import (
	"encoding/json"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "connect"

// Method names, as they appear in the section and in fact keys.
const (
	Blocking    = "blocking"
	Nonblocking = "nonblocking"
)

// udpWait bounds the read after a UDP datagram: an ICMP port unreachable comes back within
// a round trip, and waiting longer only delays the report.
const udpWait = 300 * time.Millisecond

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"fails-here-works-there":  ruleFailsHereWorksThere,
			"errno-differs":           ruleErrnoDiffers,
			"blocking-vs-nonblocking": ruleBlockingVsNonblocking,
			"route-ok-connect-fails":  ruleRouteOKConnectFails,
			"ipv6-first-no-route":     ruleIPv6FirstNoRoute,
			"intermittent":            ruleIntermittent,
			"burst-fails":             ruleBurstFails,
			"pmtu-differs":            rulePMTUDiffers,
			"udp-differs":             ruleUDPDiffers,
			"fails-as-app":            ruleFailsAsApp,
		},
		Analysis: &analysis,
	})
}

// Plugin is the connect probe.
type Plugin struct{}

// Section is the "connect" section of a report.
type Section struct {
	Attempts int `json:"attempts"`
	Burst    int `json:"burst"`
	// SlotMs bounds a single attempt: the window divided so every attempt fits.
	SlotMs  int64          `json:"slotMs"`
	Targets []TargetResult `json:"targets"`
	// AsApp holds the TCP connects run again as the target process (its uid, gid and
	// groups); nil where the prober was not asked (--as-app=false) or cannot re-execute
	// itself.
	AsApp *AsApp `json:"asApp,omitempty"`
}

// AsApp is the connects as the app: who the app is, and either its results or why there
// are none (the app runs as the prober's own uid; the prober may not switch uid).
type AsApp struct {
	// Identity is the target process's (--pid), from /proc/PID/status; nil when unreadable.
	Identity *asapp.Process `json:"identity,omitempty"`
	// Cgroup is set when the child also ran inside the app's cgroup.
	Cgroup bool `json:"cgroup,omitempty"`
	// Skipped says why no probe ran as the app although nothing failed (same uid as root's).
	Skipped string `json:"skipped,omitempty"`
	// Error says why the probes as the app could not run (no CAP_SETUID, the process is gone).
	Error   *report.Error  `json:"error,omitempty"`
	Targets []TargetResult `json:"targets,omitempty"`
}

// TargetResult is one tcp:// or udp:// target.
type TargetResult struct {
	Target    string               `json:"target"`
	Scheme    string               `json:"scheme"`
	Port      int                  `json:"port"`
	Resolve   *netprobe.Resolution `json:"resolve"`
	Addresses []AddrResult         `json:"addresses"`
}

// AddrResult holds the probes of one resolved address.
type AddrResult struct {
	Address string `json:"address"`
	Family  string `json:"family"`
	// Key is the address's place in fact keys: "ipv4", "ipv6", "ipv4#2" (resolver order).
	Key         string        `json:"key"`
	Blocking    *MethodResult `json:"blocking,omitempty"`
	Nonblocking *MethodResult `json:"nonblocking,omitempty"`
	UDP         *netprobe.Run `json:"udp,omitempty"`
	// PathMTU is IP_MTU (IPV6_MTU) of the first connected socket: the kernel's path MTU
	// for this destination, route MTU and PMTU discovery included.
	PathMTU      int           `json:"pathMtu,omitempty"`
	PathMTUError *report.Error `json:"pathMtuError,omitempty"`
}

// MethodResult is one connect method: sequential attempts and one burst.
type MethodResult struct {
	Sequential netprobe.Run  `json:"sequential"`
	Burst      *netprobe.Run `json:"burst,omitempty"`
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
