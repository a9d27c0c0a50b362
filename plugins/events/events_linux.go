package events

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Plugin keeps the watch open between Begin and Collect.
type Plugin struct {
	w *watch
}

// Begin subscribes; it never fails the report, a kind that cannot be watched is an error
// inside the section.
func (p *Plugin) Begin(_ context.Context, _ *probe.Env) error {
	p.w = start()
	return nil
}

// Collect closes the watch and returns what it saw.
func (p *Plugin) Collect(_ context.Context, _ *probe.Env) (any, error) {
	if p.w == nil {
		return &Section{Events: []Event{}, Counts: map[string]int{}, Errors: map[string]string{"all": "no window: Begin was not called"}}, nil
	}
	w := p.w
	p.w = nil
	return w.stop(), nil
}

type counter struct {
	kind, action string
	index        int
}

// watch owns the subscriptions of one window.
type watch struct {
	begin time.Time
	done  chan struct{}

	mu      sync.Mutex
	closing bool
	// end is when the window closed (set with closing): a notification read after it and
	// stamped later belongs to no probe of this window.
	end     time.Duration
	events  []raw
	total   int
	counts  map[counter]int
	names   map[int]string
	errs    map[string]string
	running sync.WaitGroup
	// started counts the kinds whose subscription is open.
	started int
}

func start() *watch {
	w := &watch{done: make(chan struct{}), counts: map[counter]int{}, names: map[int]string{}, errs: map[string]string{}}
	// Devices that exist at the start; later link events add new ones (and keep the names
	// of deleted ones, which the events before their deletion still refer to).
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			w.names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	w.begin = time.Now()
	// Raising the buffer beyond rmem_max needs CAP_NET_ADMIN; ask only where it will work,
	// since the library leaks the socket when setting the size fails.
	force := canForceRcvbuf()

	links := make(chan netlink.LinkUpdate, chanBuffer)
	if err := netlink.LinkSubscribeWithOptions(links, w.done, netlink.LinkSubscribeOptions{ErrorCallback: w.onError("link"), ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: force}); err != nil {
		w.fail("link", err)
	} else {
		w.drain(func() bool {
			u, ok := <-links
			if ok {
				w.link(u)
			}
			return ok
		})
	}
	addrs := make(chan netlink.AddrUpdate, chanBuffer)
	if err := netlink.AddrSubscribeWithOptions(addrs, w.done, netlink.AddrSubscribeOptions{ErrorCallback: w.onError("address"), ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: force}); err != nil {
		w.fail("address", err)
	} else {
		w.drain(func() bool {
			u, ok := <-addrs
			if ok {
				w.addr(u)
			}
			return ok
		})
	}
	rts := make(chan netlink.RouteUpdate, chanBuffer)
	if err := netlink.RouteSubscribeWithOptions(rts, w.done, netlink.RouteSubscribeOptions{ErrorCallback: w.onError("route"), ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: force}); err != nil {
		w.fail("route", err)
	} else {
		w.drain(func() bool {
			u, ok := <-rts
			if ok {
				w.route(u)
			}
			return ok
		})
	}
	neighs := make(chan netlink.NeighUpdate, chanBuffer)
	if err := netlink.NeighSubscribeWithOptions(neighs, w.done, netlink.NeighSubscribeOptions{ErrorCallback: w.onError("neighbour"), ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: force}); err != nil {
		w.fail("neighbour", err)
	} else {
		w.drain(func() bool {
			u, ok := <-neighs
			if ok {
				w.neigh(u)
			}
			return ok
		})
	}
	// The library has no rule subscription; its socket type still closes cleanly.
	if s, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE); err != nil {
		w.fail("rule", err)
	} else {
		_ = s.SetReceiveBufferSize(rcvbuf, force)
		w.running.Add(1)
		go func() {
			<-w.done
			s.Close()
			w.running.Done()
		}()
		w.drain(func() bool { return w.ruleMessages(s) })
	}
	return w
}

func canForceRcvbuf() bool {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) == nil
}

// drain runs next until it reports the subscription closed.
func (w *watch) drain(next func() bool) {
	w.started++
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		for next() {
		}
	}()
}

func (w *watch) onError(kind string) func(error) {
	return func(err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		// Closing the socket at the end of the window makes the receive fail; that is not news.
		if w.closing {
			return
		}
		if _, ok := w.errs[kind]; !ok {
			w.errs[kind] = errText(err)
		}
	}
}

func (w *watch) fail(kind string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs[kind] = errText(err)
}

// errText names an errno (ENOBUFS: the kernel dropped notifications) or gives the message.
func errText(err error) string {
	var errno unix.Errno
	for e := err; e != nil; {
		if x, ok := e.(unix.Errno); ok {
			errno = x
			break
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	if errno != 0 {
		return unix.ErrnoName(errno)
	}
	if strings.Contains(err.Error(), "no buffer space") {
		return "ENOBUFS"
	}
	return err.Error()
}

func (w *watch) record(e raw) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing && e.at > w.end {
		return
	}
	w.total++
	w.counts[counter{e.kind, e.action, e.index}]++
	if len(w.events) < MaxEvents {
		w.events = append(w.events, e)
	}
}

func action(newType uint16, t uint16) string {
	if t == newType {
		return "new"
	}
	return "del"
}

func family(f int) string {
	switch f {
	case unix.AF_INET:
		return "ipv4"
	case unix.AF_INET6:
		return "ipv6"
	case unix.AF_BRIDGE:
		return "bridge"
	}
	return ""
}

func (w *watch) link(u netlink.LinkUpdate) {
	at := time.Since(w.begin)
	a := u.Attrs()
	w.mu.Lock()
	w.names[a.Index] = a.Name
	w.mu.Unlock()
	flags := strings.Join(netstate.LinkFlags(u.IfInfomsg.Flags), ",")
	what := fmt.Sprintf("%s <%s> mtu %d state %s", a.Name, flags, a.MTU, strings.ToUpper(a.OperState.String()))
	w.record(raw{at: at, kind: "link", action: action(unix.RTM_NEWLINK, u.Header.Type), index: a.Index,
		what: func(map[int]string) string { return what }})
}

func (w *watch) addr(u netlink.AddrUpdate) {
	at := time.Since(w.begin)
	f := unix.AF_INET6
	if u.LinkAddress.IP.To4() != nil {
		f = unix.AF_INET
	}
	act := "del"
	if u.NewAddr {
		act = "new"
	}
	what := fmt.Sprintf("%s scope %s", u.LinkAddress.String(), netstate.ScopeName(u.Scope))
	w.record(raw{at: at, kind: "address", action: act, family: family(f), index: u.LinkIndex,
		what: func(map[int]string) string { return what }})
}

func (w *watch) route(u netlink.RouteUpdate) {
	at := time.Since(w.begin)
	r := u.Route
	idx := r.LinkIndex
	if idx == 0 && len(r.MultiPath) > 0 {
		idx = r.MultiPath[0].LinkIndex
	}
	w.record(raw{at: at, kind: "route", action: action(unix.RTM_NEWROUTE, u.Type), family: family(r.Family), index: idx,
		what: func(names map[int]string) string {
			c := netstate.ConvertRoute(r, names)
			return strings.TrimSpace(c.Table + " " + c.Type + " " + c.Dst + " " + c.Value())
		}})
}

func (w *watch) neigh(u netlink.NeighUpdate) {
	at := time.Since(w.begin)
	n := u.Neigh
	what := n.IP.String()
	if len(n.HardwareAddr) > 0 {
		what += " lladdr " + n.HardwareAddr.String()
	}
	what += " " + netstate.StateName(n.State)
	w.record(raw{at: at, kind: "neighbour", action: action(unix.RTM_NEWNEIGH, u.Type), family: family(n.Family), index: n.LinkIndex,
		what: func(map[int]string) string { return what }})
}

// ruleMessages reads one batch from the rule socket; false once the socket is closed.
func (w *watch) ruleMessages(s *nl.NetlinkSocket) bool {
	msgs, from, err := s.Receive()
	if err != nil {
		w.onError("rule")(err)
		return false
	}
	if from.Pid != nl.PidKernel {
		return true
	}
	at := time.Since(w.begin)
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWRULE && m.Header.Type != unix.RTM_DELRULE {
			continue
		}
		r, err := netstate.ParseRule(m.Data)
		if err != nil {
			w.onError("rule")(fmt.Errorf("decode rule notification: %w", err))
			continue
		}
		what := fmt.Sprintf("%d: %s %s", r.Priority, r.Selector(), r.Value())
		w.record(raw{at: at, kind: "rule", action: action(unix.RTM_NEWRULE, m.Header.Type), family: r.Family,
			what: func(map[int]string) string { return what }})
	}
	return true
}

// stop closes every subscription, waits for their goroutines and builds the section.
func (w *watch) stop() *Section {
	w.mu.Lock()
	end := time.Since(w.begin)
	w.end, w.closing = end, true
	w.mu.Unlock()
	close(w.done)
	finished := make(chan struct{})
	go func() { w.running.Wait(); close(finished) }()
	timer := time.NewTimer(closeWait)
	defer timer.Stop()
	// The readers take w.mu to record, so wait for them before taking it.
	var late bool
	select {
	case <-finished:
	case <-timer.C:
		late = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if late {
		w.errs["all"] = "subscriptions did not close within " + closeWait.String()
	}
	return w.section(end)
}

// section renders the recorded events; w.mu is held.
func (w *watch) section(window time.Duration) *Section {
	s := &Section{Window: w.started > 0, WindowMS: window.Milliseconds(), Events: make([]Event, 0, len(w.events)),
		Total: w.total, Truncated: w.total > len(w.events), Counts: map[string]int{}, Errors: w.errs}
	for _, e := range w.events {
		s.Events = append(s.Events, Event{AtMS: float64(e.at.Microseconds()) / 1000, Kind: e.kind, Action: e.action,
			Family: e.family, Dev: devName(e.index, w.names), What: e.what(w.names)})
	}
	sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].AtMS < s.Events[j].AtMS })
	for c, n := range w.counts {
		s.Counts[c.kind+"/"+c.action+"/"+devName(c.index, w.names)] += n
	}
	if len(s.Errors) == 0 {
		s.Errors = nil
	}
	return s
}

// devName never gives an ifindex: keys must line up across subjects, and an index does not.
func devName(idx int, names map[int]string) string {
	if idx == 0 {
		return "any"
	}
	if n, ok := names[idx]; ok {
		return n
	}
	return "unknown"
}
