package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/nodepod"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// nodeWatch is --node-side's node pod for one pod, started beside the pod's own prober:
// its watch (the sections registered with a node watch: the kernel's drops in the node's
// namespace) opens before the pod's probes run (ready) and closes when they are done
// (end), so what the node does to the pod's packets during its probes is seen; then the
// same node pod reads the node side.
type nodeWatch struct {
	ready     chan struct{} // closed once the watch is open, or did not start
	readyOnce sync.Once
	endc      chan struct{}
	endOnce   sync.Once
	done      chan struct{}

	pod      *nodepod.Pod
	startErr error          // the node pod did not start (the node side fails as before)
	rep      *report.Report // the watch's report
	err      error          // the watch's failure (the node side is still read)
}

func (w *nodeWatch) open() { w.readyOnce.Do(func() { close(w.ready) }) }

// end closes the watch's window: the pod's probes are done.
func (w *nodeWatch) end() {
	if w != nil {
		w.endOnce.Do(func() { close(w.endc) })
	}
}

// startNodeWatch starts s's node pod and its watch; s's prober waits for ready.
func (r *run) startNodeWatch(ctx context.Context, runner *podrun.Runner, s *subject, args []string) *nodeWatch {
	w := &nodeWatch{ready: make(chan struct{}), endc: make(chan struct{}), done: make(chan struct{})}
	id := s.pod.Namespace + "/" + s.pod.Name
	progress := func(m string) {
		if runner.Progress != nil {
			runner.Progress(id, m)
		}
	}
	go func() {
		defer close(w.done)
		defer w.open()
		start := time.Now()
		w.pod, w.startErr = nodepod.Start(ctx, nodepod.Request{
			Client: r.client, Config: r.restConfig, Subject: s.pod, Spec: runner.Spec,
			NodeNamespace: r.NodeNamespace, MaxReport: r.MaxReportSize, Progress: progress, NoWait: true,
		})
		s.timings.Add("node-pod", start)
		if w.startErr != nil {
			return
		}
		wargs, err := nodepod.WatchArgs(s.pod, section.NodeWatched(), args, r.Timeout)
		if err != nil {
			w.err = err
			return
		}
		start = time.Now()
		w.rep, w.err = w.pod.Watch(ctx, wargs, w.open, w.endc)
		s.timings.Add("node-watch", start)
	}()
	return w
}

// attachNodeWatched reads s's node side in the node pod of its watch and joins the
// watch's sections into s's report. A watch that failed is said in those sections (the
// node's namespace was not watched, and why); a node pod that did not start fails the
// node side as it always has.
func (r *run) attachNodeWatched(ctx context.Context, w *nodeWatch, s *subject) error {
	w.end()
	select {
	case <-w.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if w.startErr != nil {
		<-w.done
		return w.startErr
	}
	select {
	case <-w.done: // the watch ended before it opened: w.err is set
		var se *podrun.StepError
		if errors.As(w.err, &se) && se.Step == "wait for node pod" {
			return w.err // the node pod never ran: no node side either
		}
	default: // the watch is open, or closing
	}
	// The node side is read while the watch reports (two execs in one node pod).
	nargs, err := nodepod.ProberArgs(s.pod, s.report)
	if err != nil {
		return err
	}
	start := time.Now()
	raw, err := w.pod.NodeSide(ctx, nargs)
	s.timings.Add("node-side", start)
	if err != nil {
		return err
	}
	s.report.Sections[section.NodeSideName()] = raw
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if w.rep != nil && w.rep.CPUMS > 0 {
		// --timings: what the node's watch cost its prober (load, read, symbols).
		s.timings.Add("node-watch-prober-cpu", time.Now().Add(-time.Duration(w.rep.CPUMS)*time.Millisecond))
	}
	why := ""
	if w.err != nil {
		why = fmt.Sprintf("node pod %s: %v", w.pod.ID, w.err)
	}
	return joinWatched(s.report, w.rep, why, w.pod.ID)
}

// joinWatched joins each node-watched section of the node pod's report nrep (nil when
// there was no watch, and unwatched says why) into the pod's report rep.
func joinWatched(rep, nrep *report.Report, unwatched, nodePod string) error {
	for _, name := range section.NodeWatched() {
		var node []byte
		why := unwatched
		switch {
		case nrep != nil:
			node = nrep.Sections[name]
			for _, p := range nrep.Problems {
				if p.Section == name {
					why = fmt.Sprintf("node pod %s: %s", nodePod, p.Error.Name())
				}
			}
		}
		joined, err := section.JoinNode(name, rep.Sections[name], node, why)
		if err != nil {
			return fmt.Errorf("join the node's %s section: %w", name, err)
		}
		rep.Sections[name] = joined
	}
	return nil
}

// errAfterWindow is why --node-side=auto's node side has no watch.
var errAfterWindow = errors.New("--node-side=auto reads the node side after the probe window, so the node's namespace was not watched while the probes ran: rerun with --node-side for the kernel's word on the node")
