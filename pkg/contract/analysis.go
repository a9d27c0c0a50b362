package contract

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Role is what a section's facts are to the diagnosis.
type Role int

const (
	// State facts change what the kernel or a library does (routes, rules, sysctls, …):
	// their findings are causes.
	State Role = iota
	// Outcome facts are results of probes (connects, lookups, counters that moved):
	// their findings are symptoms.
	Outcome
	// Background facts are context: true, but neither a cause nor a symptom.
	Background
)

// Analysis is what a plugin tells the diagnosis about its section, beside its rules:
// which probes its rows measure (outcome sections), which of its rows lie on a probe's
// path (state sections), and how to name a differing row as a cause. Every hook is
// optional. Hooks see rows, not another plugin's Go types, so plugins stay leaves.
type Analysis struct {
	// Section is the section analysed; section.Register sets it from the plugin's name.
	Section string
	Role    Role
	// Probes returns the probe an outcome row measures, with each subject's status;
	// ok=false for rows that are not probe results (latencies, methods).
	Probes func(c *Comparison, r Row) (p Probe, ok bool)
	// Annotate adds what this section knows to a probe before paths are walked (the
	// route each subject's kernel chose, the addresses a name resolved to).
	Annotate func(c *Comparison, p *Probe)
	// Path returns the keys of this section's rows that govern probe p in subject i.
	Path func(c *Comparison, p *Probe, i int) []string
	// Infer names a cause from evidence when no differing row on the path explains a
	// failure of p in subject i (a local REJECT seen only in counters); nil for none.
	Infer func(c *Comparison, p *Probe, i int, better []int) *Finding
	// Describe words a differing row as a cause in subject i, against subject j.
	Describe func(c *Comparison, r Row, i, j int) string
	// Detail words what that cause's headline leaves out (what a policy admits, which
	// probes it stops and why); nil or "" for none.
	Detail func(c *Comparison, r Row, i, j int) string

	// Place is where the section's facts live on a probe's path: the pod's own network
	// namespace (the zero value) or its node's half (the host end of the veth, the
	// node's routes and netfilter). A section placed on the node that is absent from a
	// subject's report means that half of its path was not read.
	Place Place
	// DependsOn says what a differing row of this section follows from in subject i, so
	// that the diagnosis folds it under its root instead of naming it as a second cause
	// (a neighbour entry exists only once something is routed to that neighbour).
	DependsOn func(c *Comparison, r Row, i int) Dependency
	// Covers names the sections whose causes this section's causes take in, in the same
	// subject, when they explain no symptom that this section's cause does not: a fact
	// seen changing during the window covers the snapshot that caught it in one state.
	Covers []string
	// Witness marks a section whose causes say where the kernel dropped packets. Such a
	// cause resting on its own rows alone (no state fact of that place explains the drop)
	// says where the packets died, not why: where another cause of the same subject
	// explains every symptom it explains, it follows from that cause.
	Witness bool
	// Hop says where on the drawn path (-o html's picture) a row lies; nil, or HopByPlace,
	// for where Place says (the pod's kernel, or the node).
	Hop func(r Row) Hop
	// Object names the thing a row is a property of where several rows describe one (an
	// interface's mtu, state and flags: its name), "" for none. The rows of an object
	// only one subject has are one cause there, not one per property.
	Object func(r Row) string
	// Unread says what of this section could not be read in subject i and what would
	// read it ("" when everything was read). While a section on a probe's path is
	// unread, the diagnosis does not conclude that nothing on that path differs.
	Unread func(c *Comparison, i int) string
}

// Hop is a stop on the path a picture draws: pod → its interface → the host veth → the
// node → the destination.
type Hop int

const (
	// HopByPlace: where the section's Place says, the pod's kernel or the node.
	HopByPlace Hop = iota
	// HopSocket: the app's socket and what governs it (cgroup programs, uid, resolver).
	HopSocket
	// HopPodKernel: the pod's policy rules, routes, netfilter, sysctls.
	HopPodKernel
	// HopPodInterface: the pod's interface and its neighbours.
	HopPodInterface
	// HopHostVeth: the host end of the pod's veth and its sysctls.
	HopHostVeth
	// HopNode: the node's routes, forwarding, netfilter.
	HopNode
)

// Place is where on a probe's path a section's facts live.
type Place int

const (
	// InPod: the pod's own network namespace and processes.
	InPod Place = iota
	// OnNode: the node's half of the pod's network.
	OnNode
)

// String names the place as the output does.
func (p Place) String() string {
	if p == OnNode {
		return "node"
	}
	return "pod"
}

// Dependency is what a fact follows from: other rows ("section/key"), the paths of
// probes (the rows on the path to an address, found as for any probe), and the paths of
// the probes some subject's kernel routed via a next hop (a neighbour entry is made when
// something is routed through that neighbour, so it follows from whatever changes what
// is routed there).
type Dependency struct {
	Rows    []string
	Paths   []Probe
	Gateway netip.Addr
}

// Status is how a probe went in one subject, ordered from worst to best.
type Status int

const (
	// Unknown: the subject did not run the probe.
	Unknown Status = iota
	// FailLocal: refused by the subject's own kernel at once (no route, EPERM, EACCES).
	FailLocal
	// FailRemote: failed out on the path (timeout, refused by the far end, no reply).
	FailRemote
	// Mixed: some attempts worked and some failed.
	Mixed
	// OK: every attempt worked.
	OK
)

// Probe is one active probe (or moved counter) as the diagnosis follows it.
type Probe struct {
	// Row is the outcome row's ID ("connect/tcp/nonblocking/tcp://10.96.0.1:443/ipv4").
	Row string
	// Target is the target as keyed ("tcp://10.96.0.1:443", "<peer>" normalised).
	Target string
	// AddrKey is the address's place among the target's addresses ("ipv4", "ipv6#2").
	AddrKey string
	// Proto is the transport the probe used: tcp, udp, icmp; "" for counters.
	Proto string
	Port  int
	// Name is the host name of a name target ("" for address literals).
	Name string
	// UID is the user the probe ran as (the prober's root, or the app's for as-app probes).
	UID int
	// UIDs, where set, is the user the probe ran as in each subject: a probe run as the
	// app runs as each subject's own app's uid (see UIDIn).
	UIDs []int
	// AsApp marks a probe run with the app's identity rather than the prober's.
	AsApp bool
	// Reply marks the probe as its destination answers it (a peer's half of the way
	// back): what only governs answering (echo requests ignored, SYN cookies) lies on
	// this path, what only governs sending (the local port range) does not.
	Reply bool
	// Burst marks attempts made all at once rather than one at a time.
	Burst bool
	// Status and Detail (the row's value) per subject.
	Status []Status
	Detail []string
	// Domains, where set, are the sections whose causes can explain this probe without a
	// path of its own (a counter: OutNoRoutes is explained by routes and rules).
	Domains []string
	// Addr is the destination address per subject, un-normalised (annotated).
	Addr []netip.Addr
	// Route is the route each subject's kernel answered for it (annotated by routeget).
	Route []RouteAnswer
}

// RouteAnswer is what `ip route get` said in one subject.
type RouteAnswer struct {
	Known bool
	Err   string // errno name where the lookup failed
	Type  string // unicast, local, blackhole, …
	Dev   string
	Via   string
	Src   string
	Table string
	MTU   int
}

// UIDIn is the uid the probe ran as in subject i.
func (p *Probe) UIDIn(i int) int {
	if i >= 0 && i < len(p.UIDs) {
		return p.UIDs[i]
	}
	return p.UID
}

// Family is "ipv4" or "ipv6" from the address key.
func (p *Probe) Family() string {
	if strings.HasPrefix(p.AddrKey, "ipv6") {
		return "ipv6"
	}
	return "ipv4"
}

// Peer returns the index of the subject the probe's target is, as subject i sees it
// ("<peer>" in a two-subject comparison, "<peer:NAME>" in more), or -1.
func (p *Probe) Peer(c *Comparison, i int) int {
	if len(c.Subjects) == 2 && strings.Contains(p.Target, PeerIP) {
		return 1 - i
	}
	for j := range c.Subjects {
		if j != i && len(c.Subjects) > 2 && strings.Contains(p.Target, PeerPlaceholder(PeerIP, c.Subjects, j)) {
			return j
		}
	}
	return -1
}

// HostAddr parses the target's host as an address, replacing placeholders with the
// address of the subject they stand for, as subject i saw it.
func (p *Probe) HostAddr(c *Comparison, i int) (netip.Addr, bool) {
	host := target.Host(p.Target)
	switch {
	case host == SelfIP:
		return c.subjectIP(i, p.Family())
	case strings.HasPrefix(host, "<peer"):
		if j := p.Peer(c, i); j >= 0 {
			return c.subjectIP(j, p.Family())
		}
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}

// subjectIP is subject i's own address of a family, from its identity.
func (c *Comparison) subjectIP(i int, family string) (netip.Addr, bool) {
	if i < 0 || i >= len(c.Identities) {
		return netip.Addr{}, false
	}
	for _, s := range c.Identities[i].IPs {
		a, ok := ParseIdentityIP(s)
		if !ok || a.IsLoopback() || a.IsLinkLocalUnicast() {
			continue
		}
		if a.Is4() == (family == "ipv4") {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// Failing reports the subjects whose status is below best, worst first.
func (p *Probe) Failing() []int {
	var out []int
	for i, s := range p.Status {
		if s != Unknown && s != OK {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return p.Status[out[a]] < p.Status[out[b]] })
	return out
}

// Better lists the subjects whose status for the probe is better than subject i's.
func (p *Probe) Better(i int) []int {
	var out []int
	for j, s := range p.Status {
		if j != i && s > p.Status[i] {
			out = append(out, j)
		}
	}
	return out
}

// localErrnos are refusals by the subject's own kernel: they happen before a packet leaves.
var localErrnos = map[string]bool{"ENETUNREACH": true, "EACCES": true, "EPERM": true, "EINVAL": true,
	"EADDRNOTAVAIL": true, "EAFNOSUPPORT": true, "ENOBUFS": true, "EADDRINUSE": true}

// RunStatus reads the outcome form the active probes print ("ok 5/5", "ok 3/5,
// ENETUNREACH 2/5 (immediate)", "ETIMEDOUT 1/1 (timeout)", "error ECONNREFUSED"): okWord
// is what success is called ("ok", "reply").
func RunStatus(v, okWord string) Status {
	v = strings.TrimSpace(v)
	switch {
	case v == "" || v == Absent || v == "not run" || strings.HasPrefix(v, "unavailable"):
		return Unknown
	case strings.HasPrefix(v, okWord+" ") && !strings.Contains(v, ", "):
		return OK
	case strings.Contains(v, okWord+" ") && strings.Contains(v, ", "):
		if strings.HasPrefix(v, okWord+" 0/") {
			break
		}
		return Mixed
	}
	return ErrnoStatus(v)
}

// ErrnoStatus classifies a failure by its first errno: refused locally or out on the path.
func ErrnoStatus(v string) Status {
	v = strings.TrimPrefix(v, "error ")
	if strings.Contains(v, "(immediate)") {
		return FailLocal
	}
	errno, _, _ := strings.Cut(v, " ")
	errno = strings.TrimSuffix(errno, ",")
	if localErrnos[errno] {
		return FailLocal
	}
	return FailRemote
}

// Statuses applies f to each subject's value of r, Unknown where the subject lacks it.
func Statuses(r Row, f func(string) Status) []Status {
	out := make([]Status, len(r.Values))
	for i, v := range r.Values {
		if r.Present(i) {
			out[i] = f(v)
		}
	}
	return out
}
