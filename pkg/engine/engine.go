// Package engine runs one comparison: it resolves the subjects (pods, saved reports, a
// reference pod), probes the pods concurrently, diffs the reports and renders the result.
// The command (pkg/cmd/netdiff) turns flags into a Config; anything else can too.
package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diagnosis"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/nodepod"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Config is one run, complete and valid: what to compare, how to probe it and what to do
// with the result. Pods carry their namespaces.
type Config struct {
	// The subjects: saved reports, pods, and the pods that a selector or workloads select
	// in Namespace. Container names the target container in every pod, ContainerA and
	// ContainerB override it for the first and second subject.
	Files                             []string
	Pods                              []PodRef
	Selector                          string
	Workloads                         []WorkloadRef
	Namespace                         string
	Container, ContainerA, ContainerB string
	// Reference adds a fresh reference pod beside the one pod (deleted afterwards unless
	// KeepReference); NodeSide adds each pod's node side from a privileged node pod;
	// NodeSideAuto adds it only when the diagnosis finds packets that left a pod and were
	// lost where nothing read differs (then for every pod, so the node sides compare).
	Reference, KeepReference bool
	NodeSide, NodeSideAuto   bool
	NodeNamespace            string

	// How to probe: from an ephemeral container in each pod (ViaEphemeral, the default), or
	// from a node pod that enters the pod's namespaces (ViaNode: the pod spec is not
	// changed); the prober image, the targets and the prober's flags.
	Via     string
	Prober  inject.Spec
	Targets []string
	// Window is the probe window; WatchWindow keeps it open for its whole length.
	Window      time.Duration
	WatchWindow bool
	// Timeout bounds each pod, from adding the container to the end of its report.
	Timeout         time.Duration
	Attempts, Burst int
	Spread          time.Duration
	MaxReportSize   int64
	MaxConcurrency  int

	// What to do with the result.
	DryRun  bool
	SaveDir string
	Output  string // a render format
	All     bool
	Color   bool
	// SaveHTML, when set, is a file the result is also written to as -o html (mode 0600),
	// beside the Output format; Command is the command line its header shows (credentials
	// are masked when it is rendered).
	SaveHTML string
	Command  []string
	// Progress writes progress lines to ErrOut (a terminal); Timings where the time went.
	Progress bool
	Timings  bool
	Out      io.Writer
	ErrOut   io.Writer
}

// Defaults of a Config's zero values (the command's flags have the same).
const (
	DefaultMaxConcurrency = 10
	DefaultTimeout        = 90 * time.Second
	DefaultMaxReportSize  = 64 << 20
)

// The ways of probing a pod (Config.Via).
const (
	ViaEphemeral = "ephemeral"
	ViaNode      = "node"
)

// Cluster is how a run reaches the API server. A run of saved reports needs none.
type Cluster struct {
	Client kubernetes.Interface
	Config *rest.Config
	// Requests counts the API requests for Config.Timings (see CountRequests); may be nil.
	Requests *atomic.Int64
}

// run is one Run in progress.
type run struct {
	Config
	client     kubernetes.Interface
	restConfig *rest.Config
	requests   *atomic.Int64
	pods       []PodRef

	policies nsLists[networkingv1.NetworkPolicy]
	services nsLists[corev1.Service]
	slices   nsLists[discoveryv1.EndpointSlice]
	nodes    nsLists[corev1.Node] // keyed by node name: one read per node, not per pod

	// What policy evaluation reads (apisection.Lister): pods by namespace and by address,
	// namespaces by name; subjectPods are the compared pods (each one's peers).
	podLists    nsLists[corev1.Pod]
	podsByIP    nsLists[corev1.Pod]
	namespaces  nsLists[corev1.Namespace]
	calico      nsLists[netpol.CalicoPolicy] // keyed by namespace, "" for the global ones
	subjectPods []*corev1.Pod
	// progressMu keeps the lines that pods and phases print on stderr whole.
	progressMu *sync.Mutex
}

// Run compares what cfg names and renders the result to cfg.Out. Its error carries the
// exit status (exit.Code): differences found, or a failure, whose words Explain gives.
func Run(ctx context.Context, cluster *Cluster, cfg Config) error {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ErrOut == nil {
		cfg.ErrOut = io.Discard
	}
	// A Config built by hand may leave these at zero: the command's defaults then.
	if cfg.MaxConcurrency < 1 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxReportSize <= 0 {
		cfg.MaxReportSize = DefaultMaxReportSize
	}
	if cfg.Via == "" {
		cfg.Via = ViaEphemeral
	}
	r := &run{Config: cfg, pods: append([]PodRef(nil), cfg.Pods...), requests: &atomic.Int64{}, progressMu: &sync.Mutex{}}
	if cluster != nil {
		r.client, r.restConfig = cluster.Client, cluster.Config
		if cluster.Requests != nil {
			r.requests = cluster.Requests
		}
	}
	if r.client == nil && (len(r.pods) > 0 || r.Selector != "" || len(r.Workloads) > 0) {
		return fmt.Errorf("pods to probe but no cluster to reach them")
	}
	return r.run(ctx)
}

// subject is one side of the comparison while it is being gathered.
type subject struct {
	name      string
	ref       *PodRef
	reference bool // a reference pod netdiff created; the prober is its main container
	file      string
	container string
	pod       *corev1.Pod
	report    *report.Report
	err       error
	timings   podrun.Timings
}

// run gathers the reports (files and pods, concurrently), then diffs and renders.
func (r *run) run(ctx context.Context) error {
	if r.Selector != "" || len(r.Workloads) > 0 {
		if err := r.expand(ctx); err != nil {
			return err
		}
	}
	subjects := r.subjects()
	// The grace main gives the run after a signal: this run's, not an earlier one's.
	if len(r.pods) == 0 {
		grace.Store(int64(offlineGrace)) // nothing in the cluster to clean up
	} else {
		grace.Store(int64(liveGrace))
	}
	for _, s := range subjects {
		if s.file != "" {
			s.report, s.err = readReportFile(ctx, s.file, r.MaxReportSize)
		}
	}
	if len(r.pods) > 0 {
		// The API service does not depend on the pods: read it while they are resolved.
		apiTargets := make(chan []string, 1)
		if !r.DryRun {
			go func() { apiTargets <- r.apiServiceTargets(ctx) }()
		}
		if err := r.resolveAll(ctx, subjects); err != nil {
			return err
		}
		if r.DryRun {
			return r.printDryRun(subjects)
		}
		if r.Reference {
			ref, cleanup, err := r.addReference(ctx, subjects[0])
			defer cleanup()
			if err != nil {
				return err
			}
			subjects = append(subjects, ref)
		}
		r.probeAll(ctx, subjects, <-apiTargets)
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if r.NodeSideAuto && !r.NodeSide && r.Via != ViaNode {
			r.nodeSideIfOutside(ctx, subjects)
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
		}
	}
	if r.SaveDir != "" {
		if err := r.save(subjects); err != nil {
			return err
		}
	}
	var errs []string
	for _, s := range subjects {
		if s.err != nil {
			errs = append(errs, Explain(s.err, r.Prober.Profile))
		}
	}
	if r.Timings {
		r.printTimings(subjects)
	}
	for _, e := range errs {
		fmt.Fprintf(r.ErrOut, "error: %s\n", e)
	}
	var names []string
	var reports []*report.Report
	for _, s := range subjects {
		if s.report != nil {
			names, reports = append(names, s.name), append(reports, s.report)
		}
	}
	// Two subjects: a failure leaves nothing to compare. More: the others still diff, and
	// the failures above say which pods are missing from it.
	if len(errs) > 0 && (len(subjects) == 2 || len(reports) < 2) {
		return exit.Status(ExitError)
	}
	start := time.Now()
	res, err := diff.CompareContext(ctx, names, reports, diff.Options{})
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	if err := render.RenderContext(ctx, r.Out, res, r.Output, render.Options{All: r.All, Color: r.Color, Command: r.Command, Now: time.Now}); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if r.SaveHTML != "" {
		if err := saveHTML(ctx, r.SaveHTML, res, render.Options{All: r.All, Command: r.Command, Now: time.Now}); err != nil {
			return err
		}
	}
	if r.Timings {
		fmt.Fprintf(r.ErrOut, "timing: diff+render %s\n", time.Since(start).Round(time.Millisecond))
	}
	if len(errs) > 0 {
		return exit.Status(ExitError)
	}
	if res.Differs() {
		return exit.Status(ExitDiffs)
	}
	return nil
}

func (r *run) subjects() []*subject {
	var out []*subject
	for _, f := range r.Files {
		// A file name is the user's, but may come from a pod (a saved report, an archive):
		// its display name is escaped like every string a report carries.
		out = append(out, &subject{name: render.Sanitize(strings.TrimSuffix(filepath.Base(f), ".json")), file: f})
	}
	for i := range r.pods {
		ref := r.pods[i]
		c := r.Container
		if len(out) == 0 && r.ContainerA != "" {
			c = r.ContainerA
		} else if len(out) == 1 && r.ContainerB != "" {
			c = r.ContainerB
		}
		name := ref.Name
		if ref.Namespace != r.Namespace {
			name = ref.String()
		}
		out = append(out, &subject{name: name, ref: &ref, container: c})
	}
	uniqueNames(out)
	return out
}

// uniqueNames makes display names distinct (the diff keys subjects by name): the same pod
// name in two namespaces shows its namespace, the same pod twice gets (a), (b), ….
func uniqueNames(subjects []*subject) {
	count := map[string]int{}
	for _, s := range subjects {
		count[s.name]++
	}
	for _, s := range subjects {
		if count[s.name] > 1 && s.ref != nil && !strings.Contains(s.name, "/") {
			s.name = s.ref.String()
		}
	}
	seen := map[string]int{}
	for _, s := range subjects {
		seen[s.name]++
	}
	n := map[string]int{}
	for _, s := range subjects {
		if seen[s.name] > 1 {
			base := s.name
			s.name = fmt.Sprintf("%s (%c)", base, 'a'+n[base])
			n[base]++
		}
	}
}

// readReportFile reads a saved report. Only a regular file is read (a FIFO with no writer
// would block for ever) and only up to limit bytes (a report is tens of KiB; a huge one is
// not a report, or is an attack on the reader).
func readReportFile(ctx context.Context, path string, limit int64) (*report.Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read report %s: not a regular file (%s): save the report to a file first", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("read report %s: %d bytes, more than --max-report-size %d: raise it if this really is a report", path, st.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	defer f.Close()
	lr := &io.LimitedReader{R: f, N: limit + 1}
	rep, err := report.DecodeContext(ctx, lr)
	if lr.N <= 0 {
		return nil, fmt.Errorf("read report %s: grew past --max-report-size %d while read", path, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return rep, nil
}

// save writes every report that was gathered, also when the other side failed.
func (r *run) save(subjects []*subject) error {
	// Reports hold a pod's environment and command lines (redacted, but still): the
	// user's eyes only.
	if err := os.MkdirAll(r.SaveDir, 0o700); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	for _, s := range subjects {
		if s.report == nil || s.ref == nil {
			continue
		}
		path := filepath.Join(r.SaveDir, s.ref.Namespace+"_"+s.ref.Name+".json")
		if err := writeJSON(path, s.report); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
		fmt.Fprintf(r.ErrOut, "saved %s\n", render.Sanitize(path))
	}
	return nil
}

func (r *run) printTimings(subjects []*subject) {
	for _, s := range subjects {
		for _, p := range s.timings.Phases {
			fmt.Fprintf(r.ErrOut, "timing: %s %s %s\n", s.name, p.Name, p.Duration.Round(time.Millisecond))
		}
		if s.report != nil && s.report.CPUMS > 0 {
			// collect: the prober's own run (window included), so exec minus collect is what
			// the exec itself cost (upgrade, process start in the container, transfer).
			fmt.Fprintf(r.ErrOut, "timing: %s prober-collect %dms\n", s.name, s.report.DurationMS)
			fmt.Fprintf(r.ErrOut, "timing: %s prober-cpu %dms\n", s.name, s.report.CPUMS)
		}
	}
	fmt.Fprintf(r.ErrOut, "timing: api-requests %d\n", r.requests.Load())
}

// forEachPod runs fn for every pod subject, at most --max-concurrency at a time.
func (r *run) forEachPod(subjects []*subject, fn func(*subject)) {
	sem := make(chan struct{}, r.MaxConcurrency)
	var wg sync.WaitGroup
	for _, s := range subjects {
		if s.ref == nil || s.err != nil || s.report != nil {
			continue
		}
		wg.Add(1)
		go func(s *subject) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(s)
		}(s)
	}
	wg.Wait()
}

// resolveAll gets every pod and picks its target container. With two subjects a refused
// pod stops everything before any pod is changed; with more, it is reported and the others
// go on.
func (r *run) resolveAll(ctx context.Context, subjects []*subject) error {
	r.forEachPod(subjects, func(s *subject) {
		start := time.Now()
		s.pod, s.err = r.resolve(ctx, *s.ref)
		s.timings.Add("resolve", start)
		if s.err == nil {
			s.container, s.err = inject.TargetContainer(s.pod, s.container)
			if s.err != nil {
				s.err = &podrun.StepError{Pod: s.ref.String(), Step: "choose target container", Err: s.err}
			}
		}
	})
	ok := 0
	for _, s := range subjects {
		if s.ref != nil && s.err != nil && (len(subjects) <= 2 || r.Reference) {
			return s.err
		}
		if s.err == nil {
			ok++
		}
	}
	if ok < 2 && !r.Reference {
		for _, s := range subjects {
			if s.err != nil {
				return s.err
			}
		}
	}
	return nil
}

// probeAll probes the resolved pods concurrently. Per-pod failures stay in the subject so
// the others still finish (and are saved).
func (r *run) probeAll(ctx context.Context, subjects []*subject, apiTargets []string) {
	r.prefetchLists(ctx, subjects)
	runner := r.newRunner()
	var watch *windowProgress
	if r.Progress {
		if r.WatchWindow && r.Window >= minProgressWindow {
			watch = startWindowProgress(r.ErrOut, r.progressMu, r.Window, progressEvery(r.Window), len(subjects))
			defer watch.end()
		}
	}
	r.forEachPod(subjects, func(s *subject) {
		defer watch.podDone()
		pctx, cancel := context.WithTimeout(ctx, r.Timeout)
		defer cancel()
		args := r.collectArgs(s, subjects, apiTargets)
		runner := runner
		var nw *nodeWatch
		if r.NodeSide && r.Via != ViaNode && !s.pod.Spec.HostNetwork {
			// The node pod starts beside the pod's prober, and its watch is open before
			// the pod's probes run (nodewatch.go).
			wctx, wcancel := context.WithCancel(pctx)
			nw = r.startNodeWatch(wctx, runner, s, args)
			defer func() {
				wcancel() // done by now, unless the pod's probe failed first
				<-nw.done
				if nw.pod != nil {
					nw.pod.Delete()
				}
			}()
			gated := *runner
			gated.Gate = nw.ready
			runner = &gated
		}
		switch {
		case s.reference:
			s.report, s.err = runner.CollectRunning(pctx, s.pod, s.container, args, &s.timings)
		case r.Via == ViaNode:
			// The node pod also collects the node side: one node pod per pod, not two.
			s.err = r.probeViaNode(pctx, runner, s, args)
			return
		default:
			s.report, s.err = runner.Collect(pctx, s.pod, s.container, args, &s.timings)
		}
		nw.end() // the pod's probes are done
		if s.err == nil {
			attach(s)
			r.attachAPISections(pctx, s)
		}
		switch {
		case s.err != nil || !r.NodeSide:
		case nw != nil:
			s.err = r.attachNodeWatched(pctx, nw, s)
		default:
			s.err = r.attachNodeSide(pctx, runner, s)
		}
	})
}

// newRunner is the runner that adds, execs and reads the prober, with progress on
// stderr when asked for.
func (r *run) newRunner() *podrun.Runner {
	runner := &podrun.Runner{
		Client:    r.client,
		Config:    r.restConfig,
		MaxReport: r.MaxReportSize,
		Spec:      r.Prober,
	}
	if r.Progress {
		mu := r.progressMu
		runner.Progress = func(pod, msg string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(r.ErrOut, "%s: %s\n", pod, msg)
		}
		runner.ProberErr = func(pod string) io.Writer {
			return &linePrefixer{prefix: pod + ": ", w: r.ErrOut, mu: mu}
		}
	}
	return runner
}

// nodeSideIfOutside is --node-side=auto: when the diagnosis of the reports as they are
// finds a pod whose packets left it and were lost while its node's half was not read, it
// reads every pod's node side (the node sides are compared with each other, so all of
// them), in the same run. Where the node pod cannot run (RBAC, Pod Security), the run
// goes on without it and says why; the finding keeps its rerun hint.
func (r *run) nodeSideIfOutside(ctx context.Context, subjects []*subject) {
	var names []string
	var reports []*report.Report
	for _, s := range subjects {
		if s.report != nil && s.err == nil {
			names, reports = append(names, s.name), append(reports, s.report)
		}
	}
	if len(reports) < 2 {
		return
	}
	res, err := diff.CompareContext(ctx, names, reports, diff.Options{})
	if err != nil {
		return
	}
	var outside []string
	for _, f := range res.Findings {
		if f.Rule == diagnosis.RuleOutsidePod && f.Place == contract.OnNode.String() {
			outside = append(outside, f.Subject)
		}
	}
	if len(outside) == 0 {
		return
	}
	if r.Progress {
		r.progressMu.Lock()
		fmt.Fprintf(r.ErrOut, "node side (auto): packets of %s left the pod and were lost; reading every pod's node side (after the probe window: the node's namespace was not watched for drops while the probes ran; --node-side watches it)\n", strings.Join(outside, ", "))
		r.progressMu.Unlock()
	}
	runner := r.newRunner()
	sem := make(chan struct{}, r.MaxConcurrency)
	var wg sync.WaitGroup
	for _, s := range subjects {
		if s.report == nil || s.err != nil || s.pod == nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			if err := r.attachNodeSide(pctx, runner, s); err != nil && ctx.Err() == nil {
				r.progressMu.Lock()
				fmt.Fprintf(r.ErrOut, "warning: --node-side=auto could not read the node side of %s, the diagnosis goes on without it: %s\n", s.name, Explain(err, r.Prober.Profile))
				r.progressMu.Unlock()
				return
			}
			// Read after the window: the node's watch sections say it was not watched.
			if s.pod.Spec.HostNetwork {
				return
			}
			if err := joinWatched(s.report, nil, errAfterWindow.Error(), ""); err != nil {
				s.err = err
			}
		})
	}
	wg.Wait()
}

// resolve gets the pod and refuses the ones netdiff cannot probe.
func (r *run) resolve(ctx context.Context, ref PodRef) (*corev1.Pod, error) {
	pod, err := r.client.CoreV1().Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, &podrun.StepError{Pod: ref.String(), Step: "get pod", Err: err}
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, &podrun.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod is %s, not Running: ephemeral containers only start in running pods", pod.Status.Phase)}
	}
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows {
		return nil, &podrun.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod runs on Windows: the prober is Linux only")}
	}
	if pod.Spec.NodeName != "" && !proberStarted(pod) {
		// The node's OS label decides when the pod spec is silent; a refused read is no reason to stop.
		nodes, err := r.nodes.get(ctx, pod.Spec.NodeName, func(ctx context.Context, name string) ([]corev1.Node, error) {
			n, err := r.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return []corev1.Node{*n}, nil
		})
		if err == nil && len(nodes) == 1 && nodes[0].Labels[corev1.LabelOSStable] == string(corev1.Windows) {
			return nil, &podrun.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod runs on Windows node %s: the prober is Linux only", nodes[0].Name)}
		}
	}
	return pod, nil
}

// proberStarted tells whether a container netdiff added to the pod has started: then its
// node runs Linux, and a rerun (the reused pair) skips reading the node.
func proberStarted(pod *corev1.Pod) bool {
	for _, st := range pod.Status.EphemeralContainerStatuses {
		if strings.HasPrefix(st.Name, inject.NamePrefix) && (st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}

func (r *run) printDryRun(subjects []*subject) error {
	spec := r.Prober
	for _, s := range subjects {
		if s.pod == nil {
			continue
		}
		if r.Via == ViaNode {
			if _, err := viaNodeTarget(s); err != nil {
				return err
			}
			np, err := nodepod.NodePod(s.pod, r.NodeNamespace, spec)
			if err != nil {
				return err
			}
			if err := printYAML(r.Out, fmt.Sprintf("pod %s: would create this node pod, enter container %s from it, and delete it (the pod is not changed)", s.ref, s.container), np); err != nil {
				return err
			}
			continue
		}
		spec.TargetContainer = s.container
		if name := inject.FindReusable(s.pod, spec); name != "" {
			fmt.Fprintf(r.Out, "# pod %s: would reuse running container %s\n", s.ref, name)
			continue
		}
		_, ec, err := inject.Generate(s.pod, spec)
		if err != nil {
			return err
		}
		if err := printYAML(r.Out, fmt.Sprintf("pod %s: would add this ephemeral container", s.ref), ec); err != nil {
			return err
		}
	}
	return nil
}
