// Package connect probes TCP and UDP targets from inside the namespace: blocking and
// non-blocking connects done with raw syscalls (as the case study did by hand), repeated
// and in bursts, per resolved address and family, plus the path MTU of a connected socket.
package connect

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
	"github.com/netdiff/kubectl-netdiff/plugins/connect/netprobe"
)

// Name is the section name.
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
	probe.Register(Name, func() probe.Plugin { return &Plugin{} })
	registerRules()
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

func (*Plugin) Name() string       { return Name }
func (*Plugin) Phase() probe.Phase { return probe.Active }

// Collect probes every tcp:// and udp:// target concurrently within env.Timeout.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	start := time.Now()
	deadline := netprobe.Deadline(ctx, start, env.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sec := &Section{Attempts: env.Attempts, Burst: env.Burst, Targets: []TargetResult{}}
	sec.SlotMs = netprobe.Slot(start, deadline, env.Attempts).Milliseconds()

	var wg sync.WaitGroup
	for _, t := range env.Targets {
		if t.Scheme != target.TCP && t.Scheme != target.UDP {
			continue
		}
		sec.Targets = append(sec.Targets, TargetResult{Target: t.String(), Scheme: string(t.Scheme), Port: t.Port})
	}
	for i := range sec.Targets {
		wg.Add(1)
		go func(tr *TargetResult) {
			defer wg.Done()
			probeTarget(ctx, env, tr, deadline)
		}(&sec.Targets[i])
	}
	wg.Wait()
	return sec, nil
}

func probeTarget(ctx context.Context, env *probe.Env, tr *TargetResult, deadline time.Time) {
	t, err := target.Parse(tr.Target)
	if err != nil {
		tr.Resolve = &netprobe.Resolution{Name: tr.Target, Addresses: []string{}, Error: report.ErrorOf(err)}
		return
	}
	tr.Resolve = netprobe.Resolve(ctx, t.Host)
	addrs := tr.Resolve.Addrs()
	tr.Addresses = make([]AddrResult, len(addrs))
	// The slot is computed after resolution so that a slow resolver shrinks the attempts
	// rather than pushing them past the window.
	attempts, burst := env.Effort(t)
	slot := netprobe.Slot(time.Now(), deadline, attempts)
	var wg sync.WaitGroup
	for i, a := range addrs {
		ar := &tr.Addresses[i]
		*ar = AddrResult{Address: a.IP.String(), Family: a.Family, Key: a.Key()}
		if t.Scheme == target.UDP {
			wg.Add(1)
			go func(a netprobe.Addr) {
				defer wg.Done()
				wait := min(slot, udpWait)
				run := netprobe.Summarize(netprobe.Sequential(ctx, attempts, slot, deadline, func(d time.Time) netprobe.Attempt {
					return netprobe.ProbeUDP(a.IP, t.Port, d, wait)
				}))
				ar.UDP = &run
			}(a)
			continue
		}
		var mtuOnce sync.Once
		onConnected := func(fd int) { mtuOnce.Do(func() { ar.PathMTU, ar.PathMTUError = pathMTU(fd, a.Family) }) }
		methods := []struct {
			dst *(*MethodResult)
			fn  func(a netprobe.Addr, d time.Time) netprobe.Attempt
		}{
			{&ar.Blocking, func(a netprobe.Addr, d time.Time) netprobe.Attempt {
				return netprobe.ConnectBlocking(a.IP, t.Port, d, onConnected)
			}},
			{&ar.Nonblocking, func(a netprobe.Addr, d time.Time) netprobe.Attempt {
				return netprobe.ConnectNonblocking(a.IP, t.Port, d, onConnected)
			}},
		}
		for _, m := range methods {
			wg.Add(1)
			go func(a netprobe.Addr) {
				defer wg.Done()
				fn := func(d time.Time) netprobe.Attempt { return m.fn(a, d) }
				mr := &MethodResult{Sequential: netprobe.Summarize(netprobe.Sequential(ctx, attempts, slot, deadline, fn))}
				if burst > 0 {
					b := netprobe.Summarize(netprobe.Burst(ctx, burst, deadline, fn))
					mr.Burst = &b
				}
				*m.dst = mr
			}(a)
		}
	}
	wg.Wait()
	for i := range tr.Addresses {
		ar := &tr.Addresses[i]
		if t.Scheme == target.TCP && ar.PathMTU == 0 && ar.PathMTUError == nil {
			ar.PathMTUError = &report.Error{Message: "no connect succeeded, so no path MTU"}
		}
	}
}

// pathMTU reads the kernel's path MTU of a connected socket.
func pathMTU(fd int, family string) (int, *report.Error) {
	level, opt := unix.IPPROTO_IP, unix.IP_MTU
	if family == "ipv6" {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU
	}
	v, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		return 0, report.ErrorOf(err)
	}
	return v, nil
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
