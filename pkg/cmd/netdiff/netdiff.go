// Package netdiff is the `kubectl netdiff` command: options, flags, and the
// Complete/Validate/Run flow that resolves pods, probes them and renders the diff.
package netdiff

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netdiff/kubectl-netdiff/pkg/engine"
	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
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

		With --via node the pods are not changed: a short-lived privileged pod on each pod's
		node runs the prober inside the pod's namespaces and is deleted afterwards.

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

		# Read each pod's node side too (host veth, route back, node netfilter), or only
		# when a pod's packets leave it and are lost where nothing in the pod differs
		kubectl netdiff ha-0 netshoot --node-side
		kubectl netdiff ha-0 netshoot --node-side=auto

		# Leave the pods' specs untouched: probe each from a short-lived pod on its node
		kubectl netdiff ha-0 netshoot --via node --node-namespace netdiff-system

		# Show what would be added to the pods, and add nothing
		kubectl netdiff ha-0 netshoot --dry-run

		# Share a diagnosis: one self-contained HTML page (the path each failing probe
		# takes, where it dies), or markdown for an issue or a chat
		kubectl netdiff ha-0 netshoot -o html > netdiff.html
		kubectl netdiff ha-0 netshoot --save-html netdiff.html
		kubectl netdiff -f a.json -f b.json -o markdown`)
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
	NodeSide       string
	NodeNamespace  string
	Via            string
	SaveHTML       string
	// Command is the command line, shown (credentials masked) in -o html's header.
	Command []string

	// Filled by Complete.
	pods       []engine.PodRef
	workloads  []engine.WorkloadRef
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
		Timeout:         engine.DefaultTimeout,
		Window:          4 * time.Second,
		IdleTimeout:     15 * time.Minute,
		Attempts:        5,
		Burst:           10,
		// The prober's DefaultSpread (not imported: pkg/cmd/prober links every collector).
		Spread:         time.Second,
		MaxConcurrency: engine.DefaultMaxConcurrency,
		MaxReportSize:  engine.DefaultMaxReportSize,
		Via:            engine.ViaEphemeral,
		NodeSide:       "false",
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
			o.Command = append([]string{"kubectl", "netdiff"}, os.Args[1:]...)
			err := o.Complete(args)
			if err == nil {
				err = o.Validate()
			}
			if err == nil {
				err = o.Run(cmd.Context())
			}
			if err != nil && !exit.Silent(err) {
				fmt.Fprintf(o.ErrOut, "error: %s\n", engine.Explain(err, o.Profile))
				return exit.Status(engine.ExitError)
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
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json, yaml, html (one self-contained page with the path each failing probe takes) or markdown (for an issue or a chat)")
	f.StringVar(&o.SaveHTML, "save-html", "", "also write the result as -o html to this file (mode 0600), beside the output format")
	f.BoolVar(&o.All, "all", false, "show equal rows too")
	f.StringVar(&o.SaveDir, "save", "", "directory to write each pod's raw report to (NAMESPACE_POD.json, mode 0600; the directory is made 0700), for later -f")
	f.Int64Var(&o.MaxReportSize, "max-report-size", o.MaxReportSize, "refuse a report (-f file or a prober's output) larger than this many bytes")
	f.StringVar(&o.Image, "image", "", "prober image (default "+DefaultImage()+"); for mirrors and air-gapped clusters")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "image pull policy of the prober container: Always, IfNotPresent or Never")
	f.StringVar(&o.Profile, "profile", o.Profile, "security profile of the prober container, as in kubectl debug: "+strings.Join(inject.Profiles, ", "))
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for each pod's prober, from adding the container to the end of its report")
	f.DurationVar(&o.Window, "window", o.Window, "probe window inside each pod; by default it closes when the active probes are done (at most this long), given explicitly it stays open this long to watch for route, address, link, rule and neighbour changes")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "the prober container exits after this long without use")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the ephemeral container(s) that would be added (with --via node: the node pods that would be created), as YAML, and change nothing")
	f.IntVar(&o.Attempts, "attempts", o.Attempts, "sequential connects per target and method")
	f.IntVar(&o.Burst, "burst", o.Burst, "simultaneous connects per target and method")
	f.DurationVar(&o.Spread, "spread", o.Spread, "spread each probe's sequential attempts over this long, and watch route, address, link and rule changes at least this long, so a fact that flaps at a few Hz is caught (e.g. --spread 1s); a longer --window spreads them over the window, a shorter one caps it; 0 fires them back to back (faster, blind to flaps)")
	f.BoolVar(&o.Timings, "timings", false, "print where the time went, per pod and phase, and the number of API requests, on stderr")
	f.BoolVar(&o.NoColor, "no-color", false, "never colour the table")
	f.StringVarP(&o.Selector, "selector", "l", "", "compare every pod that matches this label selector (in -n's namespace)")
	f.IntVar(&o.MaxConcurrency, "max-concurrency", o.MaxConcurrency, "how many pods are probed at once")
	f.BoolVar(&o.Reference, "reference", false, "compare one pod against a fresh reference pod (prober image, same node, network and DNS settings), deleted afterwards")
	f.BoolVar(&o.KeepReference, "keep-reference", false, "with --reference: keep the reference pod instead of deleting it")
	f.StringVar(&o.NodeSide, "node-side", o.NodeSide, "also probe each pod's node side (host veth, routes to the pod, proxy_arp/rp_filter, netfilter rules, Calico Felix's chains and conntrack for its IP) from a short-lived privileged hostNetwork pod on its node: true (--node-side: that pod also watches the node's network namespace for the kernel's drops of the pod's packets while its probes run), false, or auto (only when a pod's packets leave it and are lost where nothing in the pod differs; then for every pod, in the same run, after the probes: no drop watch). --via node always reads it")
	f.Lookup("node-side").NoOptDefVal = "true"
	f.StringVar(&o.NodeNamespace, "node-namespace", "", "with --node-side or --via node: namespace for the privileged node pods (default: each pod's own; use one whose Pod Security level allows privileged pods)")
	f.StringVar(&o.Via, "via", o.Via, "how to reach each pod: ephemeral (add the prober to the pod as an ephemeral container) or node (a short-lived privileged pod on its node enters the pod's namespaces: the pod spec is not changed; --profile does not apply)")
}

// Complete parses the arguments and builds the clients when pods are involved.
func (o *Options) Complete(args []string) error {
	o.pods, o.workloads = nil, nil
	for _, a := range args {
		if w, ok := engine.ParseWorkloadRef(a); ok {
			o.workloads = append(o.workloads, w)
			continue
		}
		ref, err := engine.ParsePodRef(a)
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
		engine.CountRequests(cfg, &o.apiRequests)
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
	switch o.Via {
	case engine.ViaEphemeral, engine.ViaNode:
	default:
		return fmt.Errorf("unknown --via %q: use ephemeral or node", o.Via)
	}
	if o.Via == engine.ViaNode && o.Reference {
		return fmt.Errorf("--via node and --reference compare unlike views (a privileged prober on the node against one inside a fresh pod): use one of them")
	}
	switch o.NodeSide {
	case "true", "false", "auto":
	default:
		return fmt.Errorf("--node-side=%s: use true, false or auto", o.NodeSide)
	}
	if o.NodeNamespace != "" && o.NodeSide == "false" && o.Via != engine.ViaNode {
		return fmt.Errorf("--node-namespace only makes sense with --node-side or --via node")
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

// Config is the run the flags describe; call it after Complete and Validate.
func (o *Options) Config() engine.Config {
	return engine.Config{
		Files: o.Files, Pods: o.pods, Selector: o.Selector, Workloads: o.workloads, Namespace: o.namespace,
		Container: o.Container, ContainerA: o.ContainerA, ContainerB: o.ContainerB,
		Reference: o.Reference, KeepReference: o.KeepReference, NodeSide: o.NodeSide == "true", NodeSideAuto: o.NodeSide == "auto", NodeNamespace: o.NodeNamespace,
		Via: o.Via,
		Prober: inject.Spec{
			Image:       o.Image,
			PullPolicy:  corev1.PullPolicy(o.ImagePullPolicy),
			Profile:     o.Profile,
			Version:     version.Version,
			IdleTimeout: o.IdleTimeout,
		},
		Targets: o.Targets, Window: o.Window, WatchWindow: o.WatchWindow, Timeout: o.Timeout,
		Attempts: o.Attempts, Burst: o.Burst, Spread: o.Spread,
		MaxReportSize: o.MaxReportSize, MaxConcurrency: o.MaxConcurrency,
		DryRun: o.DryRun, SaveDir: o.SaveDir, Output: o.Output, All: o.All, SaveHTML: o.SaveHTML, Command: o.Command,
		Color:    !o.NoColor && o.isTerminal(o.Out) && os.Getenv("NO_COLOR") == "",
		Progress: o.isTerminal(o.ErrOut),
		Timings:  o.Timings,
		Out:      o.Out, ErrOut: o.ErrOut,
	}
}

// Run runs the comparison the flags describe (pkg/engine).
func (o *Options) Run(ctx context.Context) error {
	var cluster *engine.Cluster
	if o.client != nil {
		cluster = &engine.Cluster{Client: o.client, Config: o.restConfig, Requests: &o.apiRequests}
	}
	return engine.Run(ctx, cluster, o.Config())
}
