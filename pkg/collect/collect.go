// Package collect is the prober's engine: it runs the registered sections in their phases
// around one probe window and assembles the report, and it enters a container's
// namespaces from its node (--via node). It must never import Kubernetes packages: the
// prober is small and static. pkg/cmd/prober holds only its flags and wiring.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/safe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
	"github.com/netdiff/kubectl-netdiff/pkg/version"
)

// passiveGrace bounds each passive plugin beyond the active window: reading /proc or
// netlink should take milliseconds, and a stuck read must not cost the whole report.
const passiveGrace = 5 * time.Second

// passiveConcurrency bounds how many passive plugins read at once (see runPhase).
const passiveConcurrency = 2

// Run runs every plugin and returns the report. It never fails as a whole: a plugin that
// errors, panics or overruns becomes a Problem in the report. The probe window (window
// openers' Begin → active probes, with the static readers beside them → passive readers →
// window openers' Collect) ends when the active probes do, or after minWindow when that is
// longer (so a watch such as the events plugin's can be asked for on its own); the wait
// ends early when ctx is cancelled.
func Run(ctx context.Context, env *probe.Env, plugins []probe.Plugin, minWindow time.Duration) *report.Report {
	start := time.Now()
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	host, _ := os.Hostname()
	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		ProberVersion: version.Version,
		Hostname:      host,
		Time:          start.UTC(),
		PID:           env.PID,
		Sections:      map[string]json.RawMessage{},
	}
	if len(env.Targets) == 0 || env.AddDefaults {
		env.Targets = append(env.Targets, defaultTargets(ctx, env, plugins)...)
	}
	for _, t := range env.Targets {
		rep.Targets = append(rep.Targets, t.String())
	}

	var mu sync.Mutex
	record := func(name string, v any, err error) {
		if errors.Is(err, probe.ErrNotAsked) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			raw, merr := json.Marshal(v)
			if merr == nil {
				rep.Sections[name] = raw
				return
			}
			err = fmt.Errorf("encode section: %w", merr)
		}
		rep.Problems = append(rep.Problems, report.Problem{Section: name, Error: report.ErrorOf(err)})
		env.Logf("%s: %v", name, err)
	}

	// Window openers sample first, so their deltas cover the active probes. The window
	// is counted from the last Begin: one that takes a while (the drop watch loads a BPF
	// program) must not shorten the window of those that began before it.
	for _, p := range plugins {
		if w, ok := p.(probe.WindowOpener); ok {
			if err := w.Begin(ctx, env); err != nil {
				env.Logf("%s: begin window: %v", p.Name(), err)
			}
		}
	}
	opened := time.Now()
	if env.WindowOpened != nil {
		env.WindowOpened()
	}
	// Static readers use the CPU the active probes leave idle while they wait.
	staticDone := make(chan struct{})
	go func() {
		defer close(staticDone)
		runPhase(ctx, env, plugins, probe.Static, passiveGrace, record)
	}()
	runPhase(ctx, env, plugins, probe.Active, env.Timeout+time.Second, record)
	// Passive readers see what the probes left (sockets, neighbour entries, conntrack): they
	// read as soon as the probes are done, while the window stays open for the window
	// openers (counters, the netlink watch), which read last and so close it.
	var readers, openers []probe.Plugin
	for _, p := range plugins {
		if opensWindow(p) {
			openers = append(openers, p)
		} else {
			readers = append(readers, p)
		}
	}
	<-staticDone // static and passive readers never run together (memory)
	readersDone := make(chan struct{})
	go func() {
		defer close(readersDone)
		runPhase(ctx, env, readers, probe.Passive, passiveGrace, record)
	}()
	if rest := minWindow - time.Since(opened); rest > 0 {
		env.Logf("window: open %s more", rest.Round(time.Millisecond))
		select {
		case <-time.After(rest):
		case <-ctx.Done():
		case <-env.WindowEnd: // nil unless --window-end-on-stdin: blocks for ever
		}
	}
	<-readersDone
	runPhase(ctx, env, openers, probe.Passive, passiveGrace, record)

	// Plugins finish in any order; keep the report deterministic.
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Section < rep.Problems[j].Section })
	rep.DurationMS = time.Since(start).Milliseconds()
	rep.CPUMS = cpuTime().Milliseconds()
	return rep
}

// opensWindow tells a plugin that samples as the window opens and reports the change as it
// closes. Registered sections all have a Begin (pkg/section forwards it): they say
// whether their collector really opens a window.
func opensWindow(p probe.Plugin) bool {
	if w, ok := p.(interface{ OpensWindow() bool }); ok {
		return w.OpensWindow()
	}
	_, ok := p.(probe.WindowOpener)
	return ok
}

// cpuTime is the CPU time this process and its waited-for children have used: what a
// collection costs the pod (the prober starts for it and does nothing else).
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// runPhase runs the plugins of one phase concurrently, each bounded by limit.
func runPhase(ctx context.Context, env *probe.Env, plugins []probe.Plugin, phase probe.Phase, limit time.Duration, record func(string, any, error)) {
	// Active probes wait on the network and all share one window, so they run at once.
	// Passive and static readers are CPU and memory bound: a node-sized namespace dumped by
	// every plugin at the same time would multiply the peak heap, so only a few run together.
	slots := len(plugins)
	if phase != probe.Active {
		slots = passiveConcurrency
	}
	sem := make(chan struct{}, max(slots, 1))
	var wg sync.WaitGroup
	for _, p := range plugins {
		if p.Phase() != phase {
			continue
		}
		wg.Add(1)
		go func(p probe.Plugin) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := runOne(ctx, env, p, limit)
			record(p.Name(), v, err)
		}(p)
	}
	wg.Wait()
}

type result struct {
	v   any
	err error
}

// runOne runs a plugin with a deadline and turns panics into errors. A plugin that ignores
// its context is abandoned at the deadline (its goroutine ends with the process).
func runOne(ctx context.Context, env *probe.Env, p probe.Plugin, limit time.Duration) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	done := make(chan result, 1)
	go func() {
		v, err := safe.Call(func() (any, error) { return p.Collect(ctx, env) })
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		env.Logf("%s: done in %s", p.Name(), time.Since(start).Round(time.Millisecond))
		return r.v, r.err
	case <-ctx.Done():
	}
	// A plugin that honours its context returns what it has (a section whose one name's
	// lookup ran out keeps its other rows) a moment after the deadline: that is its
	// result, not a failure of the whole section.
	grace := time.NewTimer(collectGrace)
	defer grace.Stop()
	select {
	case r := <-done:
		env.Logf("%s: returned %s after its %s limit", p.Name(), time.Since(start).Round(time.Millisecond)-limit, limit)
		return r.v, r.err
	case <-grace.C:
		return nil, fmt.Errorf("plugin did not finish within %s: %w", limit, ctx.Err())
	}
}

// collectGrace is how long a plugin past its limit has to return what it has.
const collectGrace = 250 * time.Millisecond

func defaultTargets(ctx context.Context, env *probe.Env, plugins []probe.Plugin) []target.Target {
	var out []target.Target
	seen := map[string]bool{}
	for _, t := range env.Targets {
		seen[t.String()] = true
	}
	for _, p := range plugins {
		d, ok := p.(probe.DefaultTargeter)
		if !ok {
			continue
		}
		for _, t := range d.DefaultTargets(ctx, env) {
			if !seen[t.String()] {
				seen[t.String()] = true
				out = append(out, t)
			}
		}
	}
	return out
}
