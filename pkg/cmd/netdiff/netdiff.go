// Package netdiff is the `kubectl netdiff` command: options, flags, and the
// Complete/Validate/Run flow that resolves pods, probes them and renders the diff.
package netdiff

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/podprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
	"github.com/netdiff/kubectl-netdiff/pkg/version"
)

// DefaultImageRepo is the prober image repository; the release may set it with -ldflags
// "-X github.com/netdiff/kubectl-netdiff/pkg/cmd/netdiff.DefaultImageRepo=…". The tag is
// always this build's version, so the plugin injects the prober it was released with.
var DefaultImageRepo = "netdiff/netdiff-prober"

// DefaultImage is the prober image this build injects unless --image says otherwise.
func DefaultImage() string { return DefaultImageRepo + ":" + version.Version }

var (
	netdiffLong = templates.LongDesc(`
		Compare the network world of two pods and say what differs and why: the causes first
		(a route, a policy rule, a netfilter rule, a sysctl, a fact that kept changing), each
		with the symptoms it explains folded under it; -o wide lists every finding.

		netdiff adds a small prober to each pod as an ephemeral container (sharing the app
		container's process namespace), runs it over exec, and diffs the two JSON reports:
		interfaces, routes, policy rules, neighbours, sysctls, DNS configuration, the app
		process's capabilities and environment, counters over the probe window, and active
		probes (route lookup, blocking and non-blocking TCP connects, DNS, ICMP, HTTP) against
		each pod's nameservers, gateway, the Kubernetes API service and each other.

		Ephemeral containers cannot be removed: the prober container exits by itself after
		--idle-timeout and stays in the pod spec, terminated, until the pod is deleted. A
		running one of the same version is reused.

		Exit status: 0 no differences, 1 differences found, 2 or more an error.`)

	netdiffExample = templates.Examples(`
		# Compare two pods in the current namespace
		kubectl netdiff ha-0 netshoot

		# Pods in different namespaces, with an extra target
		kubectl netdiff apps/ha-0 debug/netshoot --target 10.0.0.159:80

		# Only the causes, as JSON
		kubectl netdiff ha-0 netshoot -o json | jq '.findings[] | select(.kind == "cause")'

		# Something fails now and then: watch 30 s, attempts spread over the window
		kubectl netdiff ha-0 netshoot --window 30s

		# Save both reports and diff them again later, offline
		kubectl netdiff ha-0 netshoot --save ./reports
		kubectl netdiff -f ./reports/default_ha-0.json -f ./reports/default_netshoot.json

		# Show what would be added to the pods, and add nothing
		kubectl netdiff ha-0 netshoot --dry-run`)
)

// Options holds the flags, the IO streams and the clients of one run.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Files           []string
	Container       string
	ContainerA      string
	ContainerB      string
	Targets         []string
	Output          string
	All             bool
	SaveDir         string
	Image           string
	ImagePullPolicy string
	Profile         string
	Timeout         time.Duration
	Window          time.Duration
	// WatchWindow is set when --window was given: the prober then keeps the window open
	// for its whole length (netlink watch, counters), instead of closing it when the active
	// probes are done.
	WatchWindow    bool
	IdleTimeout    time.Duration
	DryRun         bool
	Attempts       int
	Burst          int
	Spread         time.Duration
	Timings        bool
	MaxReportSize  int64
	NoColor        bool
	Selector       string
	MaxConcurrency int
	Reference      bool
	KeepReference  bool
	NodeSide       bool
	NodeNamespace  string

	// Filled by Complete.
	pods       []PodRef
	workloads  []WorkloadRef
	namespace  string
	client     kubernetes.Interface
	restConfig *rest.Config
	// apiRequests counts the requests to the API server (exec streams included) for --timings.
	apiRequests atomic.Int64
	isTerminal  func(any) bool
}

// NewOptions returns Options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{
		ConfigFlags:     genericclioptions.NewConfigFlags(true),
		IOStreams:       streams,
		Output:          "table",
		ImagePullPolicy: string(corev1.PullIfNotPresent),
		Profile:         inject.DefaultProfile,
		Timeout:         90 * time.Second,
		Window:          4 * time.Second,
		IdleTimeout:     15 * time.Minute,
		Attempts:        5,
		Burst:           10,
		// The prober's DefaultSpread (not imported: pkg/prober links every collector).
		Spread:         time.Second,
		MaxConcurrency: 10,
		MaxReportSize:  64 << 20,
		isTerminal:     isTerminal,
	}
}

// NewCmdNetdiff builds the command.
func NewCmdNetdiff(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:           "kubectl-netdiff POD_A POD_B [flags]",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl netdiff"},
		Short:         "Show what differs between the network worlds of two pods",
		Long:          netdiffLong,
		Example:       netdiffExample,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Pods are positional; a pod named like a subcommand is given as pod/NAME.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.WatchWindow = cmd.Flags().Changed("window")
			err := o.Complete(args)
			if err == nil {
				err = o.Validate()
			}
			if err == nil {
				err = o.Run(cmd.Context())
			}
			if err != nil && !IsSilent(err) {
				fmt.Fprintf(o.ErrOut, "error: %s\n", Explain(err, o.Profile))
				return exitCode(ExitError)
			}
			return err
		},
	}
	o.AddFlags(cmd)
	cmd.ValidArgsFunction = o.completePods
	cmd.AddCommand(newVersionCmd(streams))
	return cmd
}

// AddFlags registers the flags, including every kubectl connection flag.
func (o *Options) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.ConfigFlags.AddFlags(cmd.PersistentFlags())
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "a saved report (from --save or netdiff-prober collect) to diff instead of a pod; give two, or one and a pod")
	f.StringVarP(&o.Container, "container", "c", "", "target container in both pods (default: the kubectl.kubernetes.io/default-container annotation, else the first container)")
	f.StringVar(&o.ContainerA, "container-a", "", "target container in the first pod (overrides -c)")
	f.StringVar(&o.ContainerB, "container-b", "", "target container in the second pod (overrides -c)")
	f.StringArrayVarP(&o.Targets, "target", "t", nil, "extra destination to probe from both pods: HOST:PORT, tcp://, udp://HOST:PORT, icmp://HOST, http(s)://URL, dns://NAME (repeatable)")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json or yaml")
	f.BoolVar(&o.All, "all", false, "show equal rows too")
	f.StringVar(&o.SaveDir, "save", "", "directory to write each pod's raw report to (NAMESPACE_POD.json, mode 0600; the directory is made 0700), for later -f")
	f.Int64Var(&o.MaxReportSize, "max-report-size", o.MaxReportSize, "refuse a report (-f file or a prober's output) larger than this many bytes")
	f.StringVar(&o.Image, "image", "", "prober image (default "+DefaultImage()+"); for mirrors and air-gapped clusters")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "image pull policy of the prober container: Always, IfNotPresent or Never")
	f.StringVar(&o.Profile, "profile", o.Profile, "security profile of the prober container, as in kubectl debug: "+strings.Join(inject.Profiles, ", "))
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for each pod's prober, from adding the container to the end of its report")
	f.DurationVar(&o.Window, "window", o.Window, "probe window inside each pod; by default it closes when the active probes are done (at most this long), given explicitly it stays open this long to watch for route, address, link, rule and neighbour changes")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "the prober container exits after this long without use")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the ephemeral container(s) that would be added, as YAML, and change nothing")
	f.IntVar(&o.Attempts, "attempts", o.Attempts, "sequential connects per target and method")
	f.IntVar(&o.Burst, "burst", o.Burst, "simultaneous connects per target and method")
	f.DurationVar(&o.Spread, "spread", o.Spread, "spread each probe's sequential attempts over this long, and watch route, address, link and rule changes at least this long, so a fact that flaps at a few Hz is caught (e.g. --spread 1s); a longer --window spreads them over the window, a shorter one caps it; 0 fires them back to back (faster, blind to flaps)")
	f.BoolVar(&o.Timings, "timings", false, "print where the time went, per pod and phase, and the number of API requests, on stderr")
	f.BoolVar(&o.NoColor, "no-color", false, "never colour the table")
	f.StringVarP(&o.Selector, "selector", "l", "", "compare every pod that matches this label selector (in -n's namespace)")
	f.IntVar(&o.MaxConcurrency, "max-concurrency", o.MaxConcurrency, "how many pods are probed at once")
	f.BoolVar(&o.Reference, "reference", false, "compare one pod against a fresh reference pod (prober image, same node, network and DNS settings), deleted afterwards")
	f.BoolVar(&o.KeepReference, "keep-reference", false, "with --reference: keep the reference pod instead of deleting it")
	f.BoolVar(&o.NodeSide, "node-side", false, "also probe each pod's node side (host veth, routes to the pod, proxy_arp/rp_filter, netfilter rules and conntrack for its IP) from a short-lived privileged hostNetwork pod on its node")
	f.StringVar(&o.NodeNamespace, "node-namespace", "", "with --node-side: namespace for the privileged node pods (default: each pod's own; use one whose Pod Security level allows privileged pods)")
}

// Complete parses the arguments and builds the clients when pods are involved.
func (o *Options) Complete(args []string) error {
	o.pods, o.workloads = nil, nil
	for _, a := range args {
		if w, ok := ParseWorkloadRef(a); ok {
			o.workloads = append(o.workloads, w)
			continue
		}
		ref, err := ParsePodRef(a)
		if err != nil {
			return err
		}
		o.pods = append(o.pods, ref)
	}
	if o.Image == "" {
		o.Image = DefaultImage()
	}
	if len(o.pods) == 0 && len(o.workloads) == 0 && o.Selector == "" {
		return nil
	}
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	o.namespace = ns
	for i := range o.pods {
		if o.pods[i].Namespace == "" {
			o.pods[i].Namespace = ns
		}
	}
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	// Two pods, a handful of calls each: lift client-go's conservative default rate limit so
	// the concurrent sides never queue behind each other.
	cfg.QPS, cfg.Burst = 50, 100
	if o.Timings {
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, n: &o.apiRequests} })
	}
	o.restConfig = cfg
	if o.client == nil {
		if o.client, err = kubernetes.NewForConfig(cfg); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the flags and arguments before anything touches the cluster.
func (o *Options) Validate() error {
	expands := o.Selector != "" || len(o.workloads) > 0
	switch n := len(o.pods) + len(o.Files); {
	case o.Reference && (n != 1 || len(o.pods) != 1 || expands):
		return fmt.Errorf("--reference compares exactly one pod with a fresh reference pod: give one pod and no -f, -l or workload")
	case o.KeepReference && !o.Reference:
		return fmt.Errorf("--keep-reference only makes sense with --reference")
	case !o.Reference && !expands && n < 2:
		return fmt.Errorf("need at least two subjects to compare, got %d: give two pods, -f reports, -l SELECTOR, deploy/NAME, or one pod with --reference (see --help)", n)
	case (o.ContainerA != "" || o.ContainerB != "") && (n != 2 || expands):
		return fmt.Errorf("--container-a and --container-b need exactly two subjects")
	}
	if o.NodeNamespace != "" && !o.NodeSide {
		return fmt.Errorf("--node-namespace only makes sense with --node-side")
	}
	if o.MaxConcurrency < 1 {
		return fmt.Errorf("--max-concurrency must be at least 1, got %d", o.MaxConcurrency)
	}
	if err := render.ValidateFormat(o.Output); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := inject.ValidateProfile(o.Profile); err != nil {
		return err
	}
	switch corev1.PullPolicy(o.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("unknown --image-pull-policy %q: use Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if _, err := target.ParseAll(o.Targets); err != nil {
		return err
	}
	if o.Timeout <= 0 || o.Window <= 0 || o.IdleTimeout <= 0 {
		return fmt.Errorf("--timeout, --window and --idle-timeout must be positive")
	}
	if o.Window+5*time.Second > o.Timeout {
		return fmt.Errorf("--timeout (%s) must exceed --window (%s) by at least 5s", o.Timeout, o.Window)
	}
	if o.Spread < 0 {
		return fmt.Errorf("--spread must be at least 0, got %s", o.Spread)
	}
	if o.Attempts < 0 || o.Attempts > 1000 || o.Burst < 0 || o.Burst > 1000 {
		return fmt.Errorf("--attempts and --burst must be between 0 and 1000")
	}
	if o.DryRun && len(o.pods) == 0 && !expands {
		return fmt.Errorf("--dry-run needs at least one pod")
	}
	if len(o.pods) == 2 && o.pods[0] == o.pods[1] && o.ContainerA == o.ContainerB {
		return fmt.Errorf("both subjects are pod %s: compare two pods (or two containers with --container-a/--container-b)", o.pods[0])
	}
	return nil
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
	timings   podprobe.Timings
}

// Run gathers both reports (files and pods, concurrently), then diffs and renders.
func (o *Options) Run(ctx context.Context) error {
	if o.Selector != "" || len(o.workloads) > 0 {
		if err := o.expand(ctx); err != nil {
			return err
		}
	}
	subjects := o.subjects()
	if len(o.pods) == 0 {
		grace.Store(int64(offlineGrace)) // nothing in the cluster to clean up
	}
	for _, s := range subjects {
		if s.file != "" {
			s.report, s.err = readReportFile(s.file, o.MaxReportSize)
		}
	}
	if len(o.pods) > 0 {
		if err := o.resolveAll(ctx, subjects); err != nil {
			return err
		}
		if o.DryRun {
			return o.printDryRun(subjects)
		}
		if o.Reference {
			ref, cleanup, err := o.addReference(ctx, subjects[0])
			defer cleanup()
			if err != nil {
				return err
			}
			subjects = append(subjects, ref)
		}
		o.probeAll(ctx, subjects)
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	if o.SaveDir != "" {
		if err := o.save(subjects); err != nil {
			return err
		}
	}
	var errs []string
	for _, s := range subjects {
		if s.err != nil {
			errs = append(errs, Explain(s.err, o.Profile))
		}
	}
	if o.Timings {
		o.printTimings(subjects)
	}
	for _, e := range errs {
		fmt.Fprintf(o.ErrOut, "error: %s\n", e)
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
		return exitCode(ExitError)
	}
	start := time.Now()
	res, err := diff.Compare(names, reports, diff.Options{})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	color := !o.NoColor && o.isTerminal(o.Out) && os.Getenv("NO_COLOR") == ""
	if err := render.Render(o.Out, res, o.Output, render.Options{All: o.All, Color: color}); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if o.Timings {
		fmt.Fprintf(o.ErrOut, "timing: diff+render %s\n", time.Since(start).Round(time.Millisecond))
	}
	if len(errs) > 0 {
		return exitCode(ExitError)
	}
	if res.Differs() {
		return exitCode(ExitDiffs)
	}
	return nil
}

func (o *Options) subjects() []*subject {
	var out []*subject
	for _, f := range o.Files {
		// A file name is the user's, but may come from a pod (a saved report, an archive):
		// its display name is escaped like every string a report carries.
		out = append(out, &subject{name: render.Sanitize(strings.TrimSuffix(filepath.Base(f), ".json")), file: f})
	}
	for i := range o.pods {
		ref := o.pods[i]
		c := o.Container
		if len(out) == 0 && o.ContainerA != "" {
			c = o.ContainerA
		} else if len(out) == 1 && o.ContainerB != "" {
			c = o.ContainerB
		}
		name := ref.Name
		if ref.Namespace != o.namespace {
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
func readReportFile(path string, limit int64) (*report.Report, error) {
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
	rep, err := report.Decode(lr)
	if lr.N <= 0 {
		return nil, fmt.Errorf("read report %s: grew past --max-report-size %d while read", path, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return rep, nil
}

// save writes every report that was gathered, also when the other side failed.
func (o *Options) save(subjects []*subject) error {
	// Reports hold a pod's environment and command lines (redacted, but still): the
	// user's eyes only.
	if err := os.MkdirAll(o.SaveDir, 0o700); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	for _, s := range subjects {
		if s.report == nil || s.ref == nil {
			continue
		}
		path := filepath.Join(o.SaveDir, s.ref.Namespace+"_"+s.ref.Name+".json")
		if err := writeJSON(path, s.report); err != nil {
			return fmt.Errorf("--save: %w", err)
		}
		fmt.Fprintf(o.ErrOut, "saved %s\n", render.Sanitize(path))
	}
	return nil
}

func (o *Options) printTimings(subjects []*subject) {
	for _, s := range subjects {
		for _, p := range s.timings.Phases {
			fmt.Fprintf(o.ErrOut, "timing: %s %s %s\n", s.name, p.Name, p.Duration.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(o.ErrOut, "timing: api-requests %d\n", o.apiRequests.Load())
}

// countingTransport counts the requests that pass through it.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// forEachPod runs fn for every pod subject, at most --max-concurrency at a time.
func (o *Options) forEachPod(subjects []*subject, fn func(*subject)) {
	sem := make(chan struct{}, o.MaxConcurrency)
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
func (o *Options) resolveAll(ctx context.Context, subjects []*subject) error {
	o.forEachPod(subjects, func(s *subject) {
		start := time.Now()
		s.pod, s.err = o.resolve(ctx, *s.ref)
		s.timings.Add("resolve", start)
		if s.err == nil {
			s.container, s.err = inject.TargetContainer(s.pod, s.container)
			if s.err != nil {
				s.err = &podprobe.StepError{Pod: s.ref.String(), Step: "choose target container", Err: s.err}
			}
		}
	})
	ok := 0
	for _, s := range subjects {
		if s.ref != nil && s.err != nil && (len(subjects) <= 2 || o.Reference) {
			return s.err
		}
		if s.err == nil {
			ok++
		}
	}
	if ok < 2 && !o.Reference {
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
func (o *Options) probeAll(ctx context.Context, subjects []*subject) {
	apiTargets := o.apiServiceTargets(ctx)
	runner := &podprobe.Runner{
		Client:    o.client,
		Config:    o.restConfig,
		MaxReport: o.MaxReportSize,
		Spec: inject.Spec{
			Image:       o.Image,
			PullPolicy:  corev1.PullPolicy(o.ImagePullPolicy),
			Profile:     o.Profile,
			Version:     version.Version,
			IdleTimeout: o.IdleTimeout,
		},
	}
	var watch *windowProgress
	if o.isTerminal(o.ErrOut) {
		var mu sync.Mutex
		runner.Progress = func(pod, msg string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(o.ErrOut, "%s: %s\n", pod, msg)
		}
		runner.ProberErr = func(pod string) io.Writer {
			return &linePrefixer{prefix: pod + ": ", w: o.ErrOut, mu: &mu}
		}
		if o.WatchWindow && o.Window >= minProgressWindow {
			watch = startWindowProgress(o.ErrOut, &mu, o.Window, progressEvery(o.Window), len(subjects))
			defer watch.end()
		}
	}
	o.forEachPod(subjects, func(s *subject) {
		defer watch.podDone()
		pctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		args := o.collectArgs(s, subjects, apiTargets)
		if s.reference {
			s.report, s.err = runner.ProbeRunning(pctx, s.pod, s.container, args, &s.timings)
		} else {
			s.report, s.err = runner.Probe(pctx, s.pod, s.container, args, &s.timings)
		}
		if s.err == nil {
			attach(s)
			s.err = attachPodFacts(pctx, o.client, s)
		}
		if s.err == nil && o.NodeSide {
			s.err = o.attachNodeSide(pctx, runner, s)
		}
	})
}

// resolve gets the pod and refuses the ones netdiff cannot probe.
func (o *Options) resolve(ctx context.Context, ref PodRef) (*corev1.Pod, error) {
	pod, err := o.client.CoreV1().Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, &podprobe.StepError{Pod: ref.String(), Step: "get pod", Err: err}
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, &podprobe.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod is %s, not Running: ephemeral containers only start in running pods", pod.Status.Phase)}
	}
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows {
		return nil, &podprobe.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod runs on Windows: the prober is Linux only")}
	}
	if pod.Spec.NodeName != "" {
		// The node's OS label decides when the pod spec is silent; a refused read is no reason to stop.
		if node, err := o.client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{}); err == nil && node.Labels[corev1.LabelOSStable] == string(corev1.Windows) {
			return nil, &podprobe.StepError{Pod: ref.String(), Step: "check pod", Err: fmt.Errorf("pod runs on Windows node %s: the prober is Linux only", node.Name)}
		}
	}
	return pod, nil
}

func (o *Options) printDryRun(subjects []*subject) error {
	spec := inject.Spec{Image: o.Image, PullPolicy: corev1.PullPolicy(o.ImagePullPolicy), Profile: o.Profile, Version: version.Version, IdleTimeout: o.IdleTimeout}
	for _, s := range subjects {
		if s.pod == nil {
			continue
		}
		spec.TargetContainer = s.container
		if name := inject.FindReusable(s.pod, spec); name != "" {
			fmt.Fprintf(o.Out, "# pod %s: would reuse running container %s\n", s.ref, name)
			continue
		}
		_, ec, err := inject.Generate(s.pod, spec)
		if err != nil {
			return err
		}
		if err := printYAML(o.Out, fmt.Sprintf("pod %s: would add this ephemeral container", s.ref), ec); err != nil {
			return err
		}
	}
	return nil
}
