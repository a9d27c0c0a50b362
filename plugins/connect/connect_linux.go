package connect

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

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
				run := netprobe.Summarize(netprobe.Sequential(ctx, attempts, slot, env.Every(attempts), deadline, func(d time.Time) netprobe.Attempt {
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
				mr := &MethodResult{Sequential: netprobe.Summarize(netprobe.Sequential(ctx, attempts, slot, env.Every(attempts), deadline, fn))}
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
