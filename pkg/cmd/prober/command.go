package prober

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/collect"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
	"github.com/netdiff/kubectl-netdiff/pkg/version"
)

// CollectOptions are the flags of `netdiff-prober collect`.
type CollectOptions struct {
	Targets []string
	Gentle  []string
	PID     int
	Timeout time.Duration
	// Window, when set, is the length of the probe window: it bounds the active probes
	// like Timeout and also keeps the window open that long when they finish early.
	Window   time.Duration
	Attempts int
	// Spread is how long each probe's sequential attempts are spread over.
	Spread time.Duration
	Burst  int
	Proc   string
	Stamp  string
	// StdinWatch ends the collect when stdin closes: kubectl netdiff keeps the exec's stdin
	// open, so an interrupted client (its stream torn down) stops the prober in the pod too.
	StdinWatch bool
	In         io.Reader
	Quiet      bool
	Defaults   bool
	// PodIPs and PodIfindex ask for the nodeside section: the prober runs on a pod's node
	// and reports the host end of that pod's network.
	PodIPs     []string
	PodIfindex int
	// Only restricts the collect to the named sections (the node-side run needs no other).
	Only []string
	// ContainerID asks for the report of that container, from its node: the prober finds
	// the container's process and runs again inside its network and UTS namespaces
	// (kubectl netdiff --via node). Entered is set on that second run.
	ContainerID string
	Entered     bool
	// AsApp also runs the active connects as the target process's uid, gid and groups;
	// AsAppCgroup also places that child in the target's cgroup (needs the host's view of
	// the cgroup tree, as a node-side prober has).
	AsApp       bool
	AsAppCgroup bool
	// WindowEndOnStdin closes the window when a line arrives on stdin (windowend.go).
	WindowEndOnStdin bool

	Out, ErrOut io.Writer
}

// NewCommand builds the netdiff-prober command tree.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "netdiff-prober",
		Short: "Report the network world of this network namespace as JSON",
		Long: `netdiff-prober reads the network namespace it runs in and the processes it can see,
runs bounded active probes, and prints one JSON report on stdout. It only reads: it
changes nothing. kubectl netdiff runs it in an ephemeral container; it also runs under
'ip netns exec' or on a plain Linux host.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newCollectCommand(out, errOut), newVersionCommand(out), newIdleCommand(errOut), newAsAppChildCommand(out))
	return root
}

func newCollectCommand(out, errOut io.Writer) *cobra.Command {
	o := &CollectOptions{PID: 1, AsApp: true, Timeout: 4 * time.Second, Attempts: 5, Burst: 10, Spread: DefaultSpread, Proc: "/proc", Out: out, ErrOut: errOut}
	cmd := &cobra.Command{
		Use:   "collect [--target T]...",
		Short: "Print one JSON report of this network namespace and the target process",
		Example: `  # Report this namespace, probing the nameservers and the default gateway
  netdiff-prober collect

  # Probe two services, as PID 1 sees the world (its root, its environment)
  netdiff-prober collect --target 10.0.0.10:443 --target dns://kubernetes.default.svc

  # Run in a test namespace
  ip netns exec blue netdiff-prober collect --pid $$ --target udp://[fd00::1]:53`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.In = cmd.InOrStdin()
			if o.ContainerID != "" && !o.Entered {
				return o.enter(cmd.Flags())
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Targets, "target", "t", nil, "destination to probe: HOST:PORT, tcp://, udp://HOST:PORT, icmp://HOST, http(s)://URL, dns://NAME (repeatable)")
	f.StringArrayVar(&o.Gentle, "gentle-target", nil, "like --target, but probed lightly (one attempt per method, no burst): for other pods' application ports (repeatable)")
	f.IntVar(&o.PID, "pid", o.PID, "process whose view (root filesystem, environment, limits) is reported")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound on the active probe window, all targets together; the window closes as soon as the probes finish")
	f.DurationVar(&o.Window, "window", 0, "length of the probe window: like --timeout, but the window (counters, netlink events) stays open this long even when the probes finish early or there are none; wins over --timeout")
	f.IntVar(&o.Attempts, "attempts", o.Attempts, "sequential connects per target and method")
	f.DurationVar(&o.Spread, "spread", o.Spread, "spread each probe's sequential attempts over this long (and keep the window open at least this long, so the netlink watch sees what changes); a longer --window spreads them over the window; 0 fires them back to back")
	f.IntVar(&o.Burst, "burst", o.Burst, "simultaneous connects per target and method")
	f.BoolVar(&o.Defaults, "defaults", false, "also probe the default targets (nameservers, default gateway) when --target is given")
	f.StringVar(&o.Proc, "proc", o.Proc, "procfs mount point")
	f.BoolVar(&o.StdinWatch, "stdin-watch", false, "stop without a report when stdin closes (set by kubectl netdiff, whose interrupted exec closes it)")
	f.StringVar(&o.Stamp, "stamp", "", "file to touch so a running 'idle' keeps the container alive (set by kubectl netdiff)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress on stderr")
	f.StringArrayVar(&o.PodIPs, "pod-ip", nil, "run on a pod's node: report the node side of the pod with this IP (its veth, routes, sysctls, netfilter rules, conntrack entries); repeatable")
	f.IntVar(&o.PodIfindex, "pod-ifindex", 0, "with --pod-ip: ifindex of the pod's veth on this host (the pod's eth0 peer index)")
	f.BoolVar(&o.AsApp, "as-app", o.AsApp, "also run the TCP connects and route lookups as the --pid process's uid, gid and groups, when they differ from the prober's (needs CAP_SETUID and CAP_SETGID)")
	f.BoolVar(&o.AsAppCgroup, "as-app-cgroup", false, "with --as-app: also run them inside the --pid process's cgroup (cgroup v2, mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified), so programs attached to it apply")
	f.StringArrayVar(&o.Only, "only", nil, "collect only these sections (repeatable); the default is every section")
	f.StringVar(&o.ContainerID, "container-id", "", "run on a pod's node, in the host PID namespace: report the container with this ID (containerd://…) from inside its network namespace, as an ephemeral container would, without touching the pod")
	addWindowEndFlag(f, o)
	f.BoolVar(&o.Entered, "entered", false, "set by --container-id on the run inside the container's namespaces")
	_ = f.MarkHidden("entered")
	return cmd
}

// enter finds the container's process and runs this collect again inside its network
// and UTS namespaces, with the same flags, --pid of that process and --entered.
func (o *CollectOptions) enter(flags *pflag.FlagSet) error {
	pid, err := collect.ContainerPID(o.Proc, o.ContainerID)
	if err != nil {
		return err
	}
	args := []string{"collect"}
	flags.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "pid", "entered":
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	args = append(args, "--pid="+strconv.Itoa(pid), "--entered")
	in := o.In
	if in == nil {
		in = os.Stdin
	}
	return collect.RunEntered(o.Proc, pid, args, in, o.Out, o.ErrOut)
}

// Validate checks the flags before anything runs.
func (o *CollectOptions) Validate() ([]target.Target, error) {
	switch {
	case o.PID < 1:
		return nil, fmt.Errorf("--pid must be a process id >= 1, got %d", o.PID)
	case o.Window < 0 || o.Window > 5*time.Minute:
		return nil, fmt.Errorf("--window must be between 0s and 5m, got %s", o.Window)
	case o.Window == 0 && (o.Timeout <= 0 || o.Timeout > 5*time.Minute):
		return nil, fmt.Errorf("--timeout must be between 0s and 5m, got %s", o.Timeout)
	case o.Spread < 0 || o.Spread > 5*time.Minute:
		return nil, fmt.Errorf("--spread must be between 0s and 5m, got %s", o.Spread)
	case o.Attempts < 0 || o.Attempts > 1000:
		return nil, fmt.Errorf("--attempts must be between 0 and 1000, got %d", o.Attempts)
	case o.Burst < 0 || o.Burst > 1000:
		return nil, fmt.Errorf("--burst must be between 0 and 1000, got %d", o.Burst)
	case o.PodIfindex < 0:
		return nil, fmt.Errorf("--pod-ifindex must be an interface index >= 1, got %d", o.PodIfindex)
	case o.AsAppCgroup && !o.AsApp:
		return nil, fmt.Errorf("--as-app-cgroup needs --as-app")
	case o.PodIfindex > 0 && len(o.PodIPs) == 0:
		return nil, fmt.Errorf("--pod-ifindex needs --pod-ip: the node side is reported for a pod's IP")
	}
	for _, ip := range o.PodIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("--pod-ip %q is not an IP address", ip)
		}
	}
	for _, name := range o.Only {
		if _, ok := probe.Lookup(name); !ok {
			return nil, fmt.Errorf("--only %q: no such section", name)
		}
	}
	targets, err := target.ParseAll(o.Targets)
	if err != nil {
		return nil, err
	}
	gentle, err := target.ParseAll(o.Gentle)
	return append(targets, gentle...), err
}

// Run collects and prints the report. It fails only when no report can be produced.
func (o *CollectOptions) Run(ctx context.Context) error {
	targets, err := o.Validate()
	if err != nil {
		return err
	}
	if o.Stamp != "" {
		touch(o.Stamp)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var windowEnd <-chan struct{}
	if o.StdinWatch || o.WindowEndOnStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		in := o.In
		if in == nil {
			in = os.Stdin
		}
		windowEnd = o.watchStdin(in, cancel)
	}
	timeout := o.Timeout
	if o.Window > 0 {
		timeout = o.Window
	}
	// The attempts are spread over the window the user asked to watch, or over --spread.
	spread := min(o.Spread, timeout*3/4) // a short --timeout asks for a fast collect
	if o.Window > 0 && o.Spread < o.Window {
		spread = o.Window - o.Window/10 // leave the last tenth to the bursts
	}
	env := &probe.Env{PID: o.PID, Proc: o.Proc, Targets: targets, Timeout: timeout, Attempts: o.Attempts, Burst: o.Burst, Spread: spread,
		AddDefaults: o.Defaults, Gentle: map[string]bool{}, PodIPs: o.PodIPs, PodPeerIndex: o.PodIfindex,
		OnlyTargetPIDNamespace: o.Entered}
	o.windowEnd(env, windowEnd)
	if o.AsApp {
		env.AsApp = &asapp.Runner{Exe: filepath.Join(o.Proc, "self", "exe"), Proc: o.Proc, Cgroup: o.AsAppCgroup}
	}
	for _, t := range targets[len(targets)-len(o.Gentle):] {
		env.Gentle[t.String()] = true
	}
	if !o.Quiet {
		env.Logf = func(format string, args ...any) { fmt.Fprintf(o.ErrOut, "netdiff-prober: "+format+"\n", args...) }
	}
	if o.Entered {
		logf := env.Logf
		if logf == nil {
			logf = func(string, ...any) {}
		}
		collect.MountAppFiles(o.Proc, o.PID, logf)
	}
	rep := collect.Run(ctx, env, only(probe.New(), o.Only), max(o.Window, spread))
	if o.Entered {
		rep.Via = report.ViaNode
	}
	if ctx.Err() != nil {
		return fmt.Errorf("collect interrupted: no report written")
	}
	enc := json.NewEncoder(o.Out)
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// DefaultSpread catches a fact flapping at a few Hz: five attempts 200ms apart, and a
// netlink watch a second long, at the cost of that second on every run (docs/usage.md).
const DefaultSpread = time.Second

func newVersionCommand(out io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the prober version and the report schema version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]string{"version": version.Version, "schemaVersion": report.SchemaVersion})
			}
			_, err := fmt.Fprintf(out, "netdiff-prober %s (schema %s)\n", version.Version, report.SchemaVersion)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// only keeps the plugins named in names; all of them when names is empty.
func only(plugins []probe.Plugin, names []string) []probe.Plugin {
	if len(names) == 0 {
		return plugins
	}
	var out []probe.Plugin
	for _, p := range plugins {
		if slices.Contains(names, p.Name()) {
			out = append(out, p)
		}
	}
	return out
}

// newAsAppChildCommand is the hidden side of the probes as the app: the prober re-executes
// itself with the app's credentials and this subcommand, which runs one registered task on
// the JSON request read from stdin and prints its JSON result on stdout.
func newAsAppChildCommand(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    asapp.ChildCommand + " TASK",
		Short:  "Run one probe task as the app (used by collect itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return asapp.RunChild(ctx, args[0], cmd.InOrStdin(), out)
		},
	}
}
