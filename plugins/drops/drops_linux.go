package drops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Plugin is the drop watch: Begin loads and attaches the program, Collect reads its
// counts as the window closes and detaches it.
type Plugin struct {
	w   *watch
	sec *Section // set by Begin when there is no watch
}

// Roles and address flags, as drops.c has them.
const (
	rolePod    = 1
	roleNode   = 2
	addrPod    = 1
	addrTarget = 2
)

type watch struct {
	coll    *ebpf.Collection
	link    link.Link
	opened  time.Time
	reasons map[uint32]string // nil: the kernel gives none
	roles   map[uint32]string
	nsErrs  map[string]string
	pod     map[netip.Addr]bool
	ports   map[int]bool // the probe targets' ports
}

// Begin opens the watch. What keeps it from opening is not an error of the report: the
// section says it once (Collect), and every other section is unchanged.
func (p *Plugin) Begin(_ context.Context, env *probe.Env) error {
	w, un := open(env)
	if un != nil {
		p.sec = &Section{Unavailable: un, Drops: []Drop{}}
		env.Logf("drops: no watch: %s", un.Message)
		return nil
	}
	p.w = w
	return nil
}

// Collect reads the counts, resolves reasons and locations, and closes the watch.
func (p *Plugin) Collect(_ context.Context, env *probe.Env) (any, error) {
	if p.sec != nil {
		return p.sec, nil
	}
	if p.w == nil {
		// Collect without Begin (a caller that opens no window): nothing was watched.
		return &Section{Unavailable: &Unavailable{Need: "window", Message: "the drop watch opens with the probe window; this collection had none"}, Drops: []Drop{}}, nil
	}
	defer p.w.close()
	return p.w.read(env.Proc)
}

func (w *watch) close() {
	if w.link != nil {
		w.link.Close()
		w.link = nil
	}
	if w.coll != nil {
		w.coll.Close()
		w.coll = nil
	}
}

// capability numbers (linux/capability.h).
const (
	capSysAdmin = 21
	capSyslog   = 34
	capPerfmon  = 38
	capBPF      = 39
)

// effectiveCaps reads CapEff of the prober.
func effectiveCaps(proc string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(proc, "self", "status"))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff line")
}

func has(caps uint64, c int) bool { return caps&(1<<c) != 0 }

// enable is what the section tells a user without a watch.
const enable = "run with --via node (the node pod is privileged), or give the prober's container CAP_BPF and CAP_PERFMON (--profile bpf)"

func open(env *probe.Env) (*watch, *Unavailable) {
	proc := env.Proc
	caps, err := effectiveCaps(proc)
	if err != nil {
		// Not the prober's own procfs (--proc names another): its namespace and
		// capabilities are unknown, so nothing is loaded.
		return nil, &Unavailable{Need: "kernel", Error: report.ErrorOf(err),
			Message: "the prober's capabilities could not be read from " + proc + "/self/status: " + err.Error()}
	}
	if !has(caps, capSysAdmin) && !(has(caps, capBPF) && has(caps, capPerfmon)) {
		var missing []string
		for _, c := range []struct {
			n    int
			name string
		}{{capBPF, "CAP_BPF"}, {capPerfmon, "CAP_PERFMON"}} {
			if !has(caps, c.n) {
				missing = append(missing, c.name)
			}
		}
		return nil, &Unavailable{Need: "capabilities", Message: fmt.Sprintf(
			"watching drops needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); the prober lacks %s: %s",
			strings.Join(missing, " and "), enable)}
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, &Unavailable{Need: "btf", Error: report.ErrorOf(err), Message: "the kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): the drop watch needs it to attach to kfree_skb and to name drop reasons"}
	}
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, &Unavailable{Need: "btf", Error: report.ErrorOf(err), Message: "the kernel's BTF could not be read: " + err.Error()}
	}
	w := &watch{roles: map[uint32]string{}, nsErrs: map[string]string{}, pod: map[netip.Addr]bool{}, ports: map[int]bool{}}
	progName := "kfree_skb_noreason"
	if w.reasons = dropReasons(kspec); w.reasons != nil {
		progName = "kfree_skb_reason"
	}

	spec, err := loadDrops()
	if err != nil {
		return nil, &Unavailable{Need: "kernel", Error: report.ErrorOf(err), Message: "the drop watch's BPF object could not be read: " + err.Error()}
	}
	for name := range spec.Programs {
		if name != progName {
			delete(spec.Programs, name)
		}
	}
	_ = rlimit.RemoveMemlock() // kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kspec}})
	if err != nil {
		return nil, refused("load", err)
	}
	w.coll = coll

	if un := w.setNamespaces(env); un != nil {
		w.close()
		return nil, un
	}
	w.setAddrs(env)

	l, err := link.AttachTracing(link.TracingOptions{Program: coll.Programs[progName]})
	if err != nil {
		w.close()
		return nil, refused("attach", err)
	}
	w.link = l
	w.opened = time.Now()
	return w, nil
}

// dropReasons names the kernel's drop reasons from its BTF (enum skb_drop_reason, whose
// numbers change between kernels); nil before Linux 5.17, whose tracepoint has no reason.
// A variable so a test can play an older kernel.
var dropReasons = func(kspec *btf.Spec) map[uint32]string {
	var enum *btf.Enum
	if kspec.TypeByName("skb_drop_reason", &enum) != nil {
		return nil
	}
	out := map[uint32]string{}
	for _, v := range enum.Values {
		out[uint32(v.Value)] = strings.TrimPrefix(v.Name, "SKB_DROP_REASON_")
	}
	return out
}

func refused(step string, err error) *Unavailable {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i] // the verifier's log
	}
	un := &Unavailable{Need: "kernel", Error: report.ErrorOf(err),
		Message: fmt.Sprintf("the kernel refused to %s the drop watch (tp_btf/kfree_skb): %s", step, msg)}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		un.Need = "capabilities"
		un.Message += "; a seccomp profile or LSM may forbid bpf(): " + enable
	}
	return un
}

func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// setNamespaces fills the netns map: the prober's own namespace is the node's when it
// reports a pod's node side (--pod-ip), else the pod's; a prober that entered the pod from
// its node (--via node) also watches the node's, the namespace its parent runs in.
func (w *watch) setNamespaces(env *probe.Env) *Unavailable {
	// thread-self: the namespace of the thread that opens the watch (the process's, but for
	// a caller that entered another namespace on a locked thread).
	own, err := nsInode(filepath.Join(env.Proc, "thread-self", "ns", "net"))
	if err != nil {
		return &Unavailable{Need: "kernel", Error: report.ErrorOf(err), Message: "the prober's network namespace could not be read: " + err.Error()}
	}
	if len(env.PodIPs) > 0 {
		w.roles[uint32(own)] = "node"
	} else {
		w.roles[uint32(own)] = "pod"
		if env.OnlyTargetPIDNamespace {
			if node, err := parentNetns(env.Proc, own); err == nil {
				w.roles[uint32(node)] = "node"
			} else {
				w.nsErrs["node"] = err.Error()
			}
		}
	}
	m := w.coll.Maps["netns"]
	for ino, role := range w.roles {
		v := uint32(rolePod)
		if role == "node" {
			v = roleNode
		}
		if err := m.Put(ino, v); err != nil {
			return &Unavailable{Need: "kernel", Error: report.ErrorOf(err), Message: "the drop watch's namespace map: " + err.Error()}
		}
	}
	return nil
}

// parentNetns is the network namespace the prober's parent runs in that is not own: the
// node's, for a prober the node pod started inside the pod's namespaces (its parent moved
// one thread into the pod's namespace to start it; the others stayed on the node's).
func parentNetns(proc string, own uint64) (uint64, error) {
	ppid := os.Getppid()
	tasks, err := filepath.Glob(filepath.Join(proc, strconv.Itoa(ppid), "task", "*", "ns", "net"))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("the node's network namespace: no threads of the parent process %d", ppid)
	}
	seen := map[uint64]int{}
	for _, t := range tasks {
		if ino, err := nsInode(t); err == nil && ino != own {
			seen[ino]++
		}
	}
	best, n := uint64(0), 0
	for ino, c := range seen {
		if c > n {
			best, n = ino, c
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("the node's network namespace: the parent process %d runs in the pod's", ppid)
	}
	return best, nil
}

// setAddrs fills the addrs map: the pod's own addresses (--pod-ip on the node, else
// every address of the namespace but loopback) and the probe targets' literal addresses.
func (w *watch) setAddrs(env *probe.Env) {
	put := func(a netip.Addr, flag uint32) {
		a = a.Unmap()
		if !a.IsValid() {
			return
		}
		k := dropsAddrKey{Family: 4}
		if a.Is6() {
			k.Family = 6
		}
		b := a.As16()
		if a.Is4() {
			v4 := a.As4()
			b = [16]byte{}
			copy(b[:], v4[:])
		}
		k.Addr = b
		var old uint32
		_ = w.coll.Maps["addrs"].Lookup(&k, &old)
		_ = w.coll.Maps["addrs"].Put(&k, old|flag)
	}
	if len(env.PodIPs) > 0 {
		for _, s := range env.PodIPs {
			if a, err := netip.ParseAddr(s); err == nil {
				w.pod[a.Unmap()] = true
				put(a, addrPod)
			}
		}
	} else if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ad := range addrs {
			// Not link-local: no probe uses it, and a new pod's own router solicitations
			// and neighbour discovery are sent from it.
			if pfx, err := netip.ParsePrefix(ad.String()); err == nil && !pfx.Addr().IsLoopback() && !pfx.Addr().IsLinkLocalUnicast() {
				w.pod[pfx.Addr().Unmap()] = true
				put(pfx.Addr(), addrPod)
			}
		}
	}
	for _, t := range env.Targets {
		if t.Port > 0 {
			w.ports[t.Port] = true
		}
		if a, err := netip.ParseAddr(strings.Trim(t.Host, "[]")); err == nil && !a.IsLoopback() {
			put(a, addrTarget)
		}
	}
}

type raw struct {
	k dropsDropKey
	v dropsDropVal
}

func (w *watch) read(proc string) (*Section, error) {
	window := time.Since(w.opened)
	if w.link != nil {
		w.link.Close() // stop counting before reading
		w.link = nil
	}
	s := &Section{Watch: "tp_btf/kfree_skb", Reasons: w.reasons != nil, WindowMS: window.Milliseconds(), Drops: []Drop{}}
	for ino, role := range w.roles {
		s.Namespaces = append(s.Namespaces, Namespace{Role: role, Inode: uint64(ino)})
	}
	sort.Slice(s.Namespaces, func(i, j int) bool { return s.Namespaces[i].Role > s.Namespaces[j].Role })
	if len(w.nsErrs) > 0 {
		s.NamespaceErrors = w.nsErrs
	}
	var raws []raw
	var r raw
	it := w.coll.Maps["drops"].Iterate()
	for it.Next(&r.k, &r.v) {
		raws = append(raws, r)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read the drop counts: %w", err)
	}
	var per []uint64
	for i := uint32(0); i < 2; i++ {
		if err := w.coll.Maps["stats"].Lookup(&i, &per); err == nil {
			var sum uint64
			for _, v := range per {
				sum += v
			}
			if i == 0 {
				s.Unwatched = int64(sum)
			} else {
				s.Lost = int64(sum)
			}
		}
	}

	var want []uint64
	for _, r := range raws {
		want = append(want, r.k.Location)
		for _, a := range r.v.Stack {
			if a != 0 {
				want = append(want, a)
			}
		}
	}
	syms, how := resolve(filepath.Join(proc, "kallsyms"), want)
	s.Symbols = how

	byKey := map[string]*Drop{}
	var order []string
	for _, r := range raws {
		if !probeFlow(r.k) {
			s.Unwatched += int64(r.v.Count)
			continue
		}
		d := w.drop(r, syms)
		k := d.Key()
		if have, ok := byKey[k]; ok {
			have.Count += d.Count
			have.Flows++
			continue
		}
		byKey[k] = &d
		order = append(order, k)
	}
	sort.Strings(order)
	s.Total = len(order)
	for _, k := range order {
		if len(s.Drops) == MaxDrops {
			s.Truncated = true
			break
		}
		s.Drops = append(s.Drops, *byKey[k])
	}
	return s, nil
}

// probeFlow: no probe sends to or from a multicast, broadcast or link-local address;
// what does (neighbour discovery, router solicitations, IGMP/MLD, mDNS) is the
// namespace's own chatter, counted as unwatched.
func probeFlow(k dropsDropKey) bool {
	for _, a := range []netip.Addr{addrOf(k.Family, k.Saddr), addrOf(k.Family, k.Daddr)} {
		if a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return false
		}
	}
	return true
}

var protoNames = map[uint8]string{1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}

func addrOf(family uint8, b [16]uint8) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	}
	return netip.AddrFrom16(b)
}

func hostPort(a netip.Addr, port uint16, with bool) string {
	if !with {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// drop turns one kernel count into a Drop: the pod's side and the remote side, the port
// kept on the side that serves (a probe target's port, else the lower one: ephemeral ports
// are the high ones), the reason by name and the location by symbol.
func (w *watch) drop(r raw, syms map[uint64]string) Drop {
	k := r.k
	d := Drop{Netns: w.roles[k.Netns], Count: int64(r.v.Count), Flows: 1}
	d.Proto = protoNames[k.Proto]
	if d.Proto == "" {
		d.Proto = "proto" + strconv.Itoa(int(k.Proto))
	}
	src, dst := addrOf(k.Family, k.Saddr), addrOf(k.Family, k.Daddr)
	local, remote, lport, rport := src, dst, k.Sport, k.Dport
	switch {
	case w.pod[src]:
		d.Dir = "out"
	case w.pod[dst]:
		d.Dir = "in"
		local, remote, lport, rport = dst, src, k.Dport, k.Sport
	}
	ports := lport != 0 || rport != 0
	client := true
	switch {
	case !ports:
	case w.ports[int(rport)] && !w.ports[int(lport)]:
	case w.ports[int(lport)] && !w.ports[int(rport)]:
		client = false
	default:
		client = lport >= rport
	}
	d.Local = hostPort(local, lport, ports && !client)
	d.Remote = hostPort(remote, rport, ports && client)
	if w.reasons != nil {
		if n, ok := w.reasons[k.Reason]; ok {
			d.Reason = n
		} else {
			d.Reason = "reason" + strconv.Itoa(int(k.Reason))
		}
	}
	d.Location = symbolOr(syms, k.Location)
	// The stack runs from the tracing program outwards: keep it from the location on.
	var stack []string
	for _, a := range r.v.Stack {
		if a == 0 {
			break
		}
		stack = append(stack, symbolOr(syms, a))
	}
	if i := slices.Index(stack, d.Location); i >= 0 && d.Location != "?" {
		stack = stack[i:]
	}
	if len(stack) > 8 {
		stack = stack[:8]
	}
	d.Stack = stack
	if d.Location == "nf_hook_slow" || strings.HasPrefix(d.Reason, "NETFILTER") || d.Reason == "" && slices.Contains(stack, "nf_hook_slow") {
		d.Hook = netfilterHook(stack)
	}
	return d
}

func symbolOr(syms map[uint64]string, a uint64) string {
	if s, ok := syms[a]; ok {
		return s
	}
	return "?"
}

// hookCallers: the functions that call into netfilter at each hook (nf_hook is inlined
// into them, so the frame after nf_hook_slow is theirs).
var hookCallers = []struct{ fn, hook string }{
	{"__ip_local_out", "output"}, {"ip_local_out", "output"}, {"__ip6_local_out", "output"}, {"ip6_local_out", "output"},
	{"ip_output", "postrouting"}, {"ip6_output", "postrouting"}, {"ip_finish_output", "postrouting"},
	{"ip_forward", "forward"}, {"ip6_forward", "forward"},
	{"ip_local_deliver", "input"}, {"ip6_input", "input"},
	{"ip_rcv", "prerouting"}, {"ipv6_rcv", "prerouting"}, {"ip_list_rcv", "prerouting"}, {"ipv6_list_rcv", "prerouting"},
	{"br_", "bridge"},
}

func netfilterHook(stack []string) string {
	for _, fn := range stack {
		if fn == "nf_hook_slow" || fn == "?" {
			continue
		}
		for _, c := range hookCallers {
			if fn == c.fn || strings.HasSuffix(c.fn, "_") && strings.HasPrefix(fn, c.fn) {
				return c.hook
			}
		}
	}
	return ""
}

// resolve names kernel addresses by the symbol that holds them (the one at the highest
// address not above), from kallsyms. Without CAP_SYSLOG the file shows every address as
// 0, and nothing is named.
func resolve(path string, want []uint64) (map[uint64]string, string) {
	out := map[uint64]string{}
	if len(want) == 0 {
		return out, "kallsyms"
	}
	slices.Sort(want)
	want = slices.Compact(want)
	f, err := os.Open(path)
	if err != nil {
		return out, "unresolved: " + report.ErrorOf(err).Name()
	}
	defer f.Close()
	// rec[i] is the highest symbol address seen whose first wanted address at or above it
	// is want[i]; the best symbol of want[j] is then the highest rec of any i <= j. One
	// binary search per line, whatever the number of addresses wanted.
	rec := make([]uint64, len(want))
	names := make([]string, len(want))
	nonzero := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) < 20 || line[16] != ' ' || line[17] != 't' && line[17] != 'T' {
			continue
		}
		a, err := strconv.ParseUint(string(line[:16]), 16, 64)
		if err != nil || a == 0 {
			continue
		}
		nonzero = true
		i := sort.Search(len(want), func(i int) bool { return want[i] >= a })
		if i == len(want) || a <= rec[i] {
			continue
		}
		rec[i] = a
		name := line[19:]
		if t := bytes.IndexAny(name, " \t"); t >= 0 {
			name = name[:t]
		}
		names[i] = string(name)
	}
	best, bestName := uint64(0), ""
	for j := range want {
		if rec[j] > best {
			best, bestName = rec[j], names[j]
		}
		names[j] = bestName
	}
	if !nonzero {
		return out, "unresolved: /proc/kallsyms shows no addresses without CAP_SYSLOG"
	}
	for j, a := range want {
		if names[j] != "" {
			out[a] = names[j]
		}
	}
	return out, "kallsyms"
}
