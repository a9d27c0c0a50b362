// Package probe is the plugin contract of the prober: a probe plugin collects one section
// of the report and knows how to turn that section into keyed facts for the diff.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Env is what a plugin may use while collecting.
type Env struct {
	// PID is the target process: its /proc/PID/root, environment and limits are "the app's view".
	PID int
	// Proc is the procfs mount point, "/proc" except in tests.
	Proc string
	// Targets are the active-probe destinations, already validated.
	Targets []target.Target
	// Gentle holds targets (by canonical string) to probe lightly: one attempt per method
	// and no burst. kubectl netdiff passes the other pods' application ports this way, so
	// the probe neither loads the peer's app nor measures its accept backlog.
	Gentle map[string]bool
	// AddDefaults asks for the default targets (nameservers, gateway) even when Targets is
	// not empty; without it they are probed only when no target was given.
	AddDefaults bool
	// Timeout bounds the active probe window as a whole.
	Timeout time.Duration
	// Attempts is how many sequential connects each active probe makes; Burst how many at once.
	Attempts int
	Burst    int
	// Spread is the time the sequential attempts of one probe are spread over (one every
	// Spread/Attempts), so that a fact that comes and goes at a few Hz is caught by some
	// attempts and missed by others; 0 fires them back to back. Bursts stay simultaneous.
	Spread time.Duration
	// Logf writes progress to stderr; never to stdout, which carries the report.
	Logf func(format string, args ...any)
	// PodIPs and PodPeerIndex name a pod seen from its node (--pod-ip, --pod-ifindex):
	// the prober then runs in the node's network namespace and the nodeside plugin reports
	// the host end of that pod's network. Empty in a normal collect.
	PodIPs       []string
	PodPeerIndex int
	// OnlyTargetPIDNamespace limits the processes plugins list (ListPIDs) to the target's
	// PID namespace: set when the prober entered the pod from its node, where it sees
	// every process of the host. In a pod it sees only the pod's, and this is false.
	OnlyTargetPIDNamespace bool
	// AsApp runs probes again with the target process's identity (its uid, gid and groups,
	// and its cgroup where asked), in a child of the prober; nil where the running binary
	// cannot be re-executed as a prober (tests calling Collect) or --as-app=false.
	AsApp *asapp.Runner
	// WindowOpened, when set, is called once as the window opens (every window opener has
	// begun); WindowEnd, when not nil, closes the window early, before Timeout: a watch
	// run beside another prober's window (a node pod's drop watch beside the pod's probes,
	// --window-end-on-stdin) lasts as long as that window and still reports.
	WindowOpened func()
	WindowEnd    <-chan struct{}
}

// WindowOpenLine is the line a prober run with --window-end-on-stdin writes on stderr as
// its window opens, so whoever ends the window knows when it began to watch.
const WindowOpenLine = "netdiff-prober: window open"

// ErrNotAsked is what a plugin returns when its section only exists on request (nodeside
// without --pod-ip): the report then has no such section and no problem for it.
var ErrNotAsked = errors.New("section not asked for")

// Phase says when a plugin runs relative to the active probe window.
type Phase int

const (
	// Passive plugins read state the active probes change (neighbour entries, sockets,
	// counters, conntrack); they run once the probes are done, so they see their effects.
	// Those that are WindowOpeners (counters, the netlink watch) read last, as the window
	// closes, the others while it may still be open.
	Passive Phase = iota
	// Active plugins send traffic; they run concurrently inside the window.
	Active
	// Static plugins read state the probes do not change (sysctls but the conntrack count,
	// routes, policy rules, interfaces, DNS files): they run as the window opens, beside
	// the active probes, whose CPU is mostly idle waiting for replies, so the report
	// is ready soon after the window closes instead of a passive phase later.
	Static
)

// Plugin is a registered plugin as the prober and the diff see it: pkg/section makes one
// from each plugin's descriptor.
type Plugin interface {
	Name() string
	Phase() Phase
	Collector
	// Facts flattens the section (as stored in a report) into keyed facts for the diff.
	Facts(raw json.RawMessage) ([]Fact, error)
}

// Collector collects one report section in the prober. Collect returns a JSON-marshalable
// value; an error means the whole section is missing (per-item failures belong inside
// the section as data).
type Collector interface {
	Collect(ctx context.Context, env *Env) (any, error)
}

// DefaultTargeter is implemented by collectors that know sensible destinations when the
// user gave none (resolv.conf nameservers, the default gateway).
type DefaultTargeter interface {
	DefaultTargets(ctx context.Context, env *Env) []target.Target
}

// WindowOpener is implemented by plugins that sample something before the active window
// (counters, netlink events) and report the change in Collect.
type WindowOpener interface {
	Begin(ctx context.Context, env *Env) error
}

// Identifier is implemented by plugins that know values identifying the subject itself
// (its IPs, MACs, interface names), which the diff normalises to placeholders.
type Identifier interface {
	Identity(raw json.RawMessage) (SelfValues, error)
}

// SelfValues lists values unique to one subject.
type SelfValues struct {
	IPs   []string
	MACs  []string
	Names []string // hostnames, veth peer names and other strings that are different by nature
	// Gateways and NodeNets are what a subject has because of the node it runs on: its
	// default gateways, and the pod range of a CNI that gives each node its own (a
	// prefix such as 10.244.1.0/24). The diff normalises them only between subjects on
	// different nodes; on one node a different gateway stays a difference.
	Gateways []string
	NodeNets []string
}

// FactKind tells the diff how to compare a fact.
type FactKind int

const (
	// Exact facts differ when their normalised values differ.
	Exact FactKind = iota
	// Counter facts hold a delta over the probe window; they differ only when one moved and the other did not.
	Counter
	// ShowOnly facts are shown but never count as a difference (pids, timestamps, latencies).
	ShowOnly
)

// Fact is one comparable fact of a section. Key lines up the same thing across subjects
// (a route by table and destination, a sysctl by path, a probe by target and method).
type Fact struct {
	Key   string   `json:"key"`
	Value string   `json:"value"`
	Kind  FactKind `json:"-"`
}

// Every is the interval between the starts of a probe's sequential attempts.
func (e *Env) Every(attempts int) time.Duration {
	if attempts < 2 || e.Spread <= 0 {
		return 0
	}
	return e.Spread / time.Duration(attempts)
}

// Effort returns how many sequential attempts and burst connects a target gets.
func (e *Env) Effort(t target.Target) (attempts, burst int) {
	if e.Gentle[t.String()] {
		return min(e.Attempts, 1), 0
	}
	return e.Attempts, e.Burst
}
