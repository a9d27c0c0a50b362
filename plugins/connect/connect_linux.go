package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Collect probes every tcp:// and udp:// target concurrently within env.Timeout.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	start := time.Now()
	deadline := netprobe.Deadline(ctx, start, env.Timeout)
	outer := ctx
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
	// The connects as the app run beside root's, in the same window.
	wg.Go(func() { sec.AsApp = collectAsApp(outer, env, deadline) })
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

func init() { asapp.RegisterTask(Name, runAsApp) }

// asAppRequest is what the prober sends the child that connects as the app.
type asAppRequest struct {
	Targets  []string      `json:"targets"`
	Gentle   []string      `json:"gentle,omitempty"`
	Attempts int           `json:"attempts"`
	Burst    int           `json:"burst"`
	Spread   time.Duration `json:"spread"`
	Deadline time.Time     `json:"deadline"`
}

// asAppGrace is how long the child may take past the window to report.
const asAppGrace = 700 * time.Millisecond

// collectAsApp runs the TCP connects again as the target process's uid, gid and groups
// (and in its cgroup where asked), in a child of the prober, when that identity differs
// from the prober's own; otherwise it says why none ran.
func collectAsApp(ctx context.Context, env *probe.Env, deadline time.Time) *AsApp {
	if env.AsApp == nil {
		return nil
	}
	out := &AsApp{Cgroup: env.AsApp.Cgroup}
	req := asAppRequest{Attempts: env.Attempts, Burst: env.Burst, Spread: env.Spread, Deadline: deadline}
	for _, t := range env.Targets {
		if t.Scheme != target.TCP {
			continue
		}
		req.Targets = append(req.Targets, t.String())
		if env.Gentle[t.String()] {
			req.Gentle = append(req.Gentle, t.String())
		}
	}
	id, err := asapp.Read(env.Proc, env.PID)
	if err != nil {
		out.Error = report.ErrorOf(fmt.Errorf("read the app's identity (pid %d): %w", env.PID, err))
		return out
	}
	out.Identity = &id
	uid, gid := os.Geteuid(), os.Getegid()
	switch {
	case len(req.Targets) == 0:
		out.Skipped = "no TCP target"
		return out
	case id.UID == uid && id.GID == gid && !env.AsApp.Cgroup:
		who := "root's"
		if uid != 0 {
			who = "the prober's"
		}
		out.Skipped = fmt.Sprintf(sameUID+" %d gid %d, as the prober does: %s connects are the app's", id.UID, id.GID, who)
		return out
	}
	if missing, err := asapp.MissingCapsSelf(env.Proc); err != nil || len(missing) > 0 {
		if err == nil {
			err = fmt.Errorf("the prober lacks %s, needed to run the connects as the app (uid %d): its container drops them (kubectl netdiff's --profile restricted does; the default baseline keeps them)",
				strings.Join(missing, " and "), id.UID)
		}
		out.Error = report.ErrorOf(err)
		return out
	}
	// The child ends its connects at the deadline and then writes its result: it gets a
	// moment beyond (the plugin's own bound is a second beyond the window).
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(asAppGrace))
	defer cancel()
	start := time.Now()
	if err := env.AsApp.Run(ctx, id, Name, req, &out.Targets); err != nil {
		out.Error, out.Targets = report.ErrorOf(err), nil
		env.Logf("connect: as the app (%s): %v", id, err)
		return out
	}
	env.Logf("connect: as the app (%s): done in %s", id, time.Since(start).Round(time.Millisecond))
	return out
}

// runAsApp is the child's side: the connects of the request, run as whoever the child is.
func runAsApp(ctx context.Context, raw json.RawMessage) (any, error) {
	var req asAppRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	env := &probe.Env{Attempts: req.Attempts, Burst: req.Burst, Spread: req.Spread, Gentle: map[string]bool{},
		Logf: func(string, ...any) {}}
	for _, g := range req.Gentle {
		env.Gentle[g] = true
	}
	ctx, cancel := context.WithDeadline(ctx, req.Deadline)
	defer cancel()
	out := make([]TargetResult, 0, len(req.Targets))
	for _, s := range req.Targets {
		t, err := target.Parse(s)
		if err != nil || t.Scheme != target.TCP {
			return nil, fmt.Errorf("target %q is not a TCP target", s)
		}
		out = append(out, TargetResult{Target: t.String(), Scheme: string(t.Scheme), Port: t.Port})
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { probeTarget(ctx, env, &out[i], req.Deadline) })
	}
	wg.Wait()
	return out, nil
}
