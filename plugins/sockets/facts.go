package sockets

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Fact key prefixes; rules.go reads them back.
const (
	keyOwner   = "owner/"    // owner/COMM/TABLE = yes; owner/COMM/TABLE/STATE = count
	keyListen  = "listen/"   // listen/PROTO/PORT = reach addresses (comms)
	keyDev     = "dev/"      // dev/COMM/TABLE/DEVICE = count
	keyAddr    = "addr/"     // addr/COMM/TABLE/ADDRESS = count
	keyMark    = "mark/"     // mark/COMM/TABLE/MARK = count
	keySynSent = "syn-sent/" // syn-sent/COMM/TABLE/REMOTE = count
)

// Reach values of listen facts: which families a port accepts.
const (
	reachDual   = "ipv4+ipv6"
	reachV4     = "ipv4-only"
	reachV6     = "ipv6-only"
	reachMaybe6 = "ipv6 (v6only unknown)"
)

// facts flattens the section; see docs/sections/sockets.md. Keys name processes by comm
// and never hold pids, inodes or ephemeral ports.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) { out = append(out, probe.Fact{Key: k, Value: v, Kind: kind}) }
	for table, src := range s.Sources {
		v := src.Via
		if src.Error != nil {
			v = "unreadable: " + src.Error.Name()
		}
		add("source/"+table, v, probe.ShowOnly)
	}
	for table, states := range s.States {
		for st, n := range states {
			add("state/"+table+"/"+st, strconv.Itoa(n), probe.ShowOnly)
		}
	}
	// The kernel sends a mark with every socket to CAP_NET_ADMIN and with none otherwise,
	// so an empty netlink table says nothing either way.
	marks := "unknown (no socket read over netlink)"
	for table, src := range s.Sources {
		switch {
		case src.Marks:
			marks = "visible"
		case src.Via == "netlink" && len(s.States[table]) > 0 && marks != "visible":
			marks = "not visible (needs CAP_NET_ADMIN)"
		}
	}
	add("marks", marks, probe.ShowOnly)
	add("total", strconv.Itoa(s.Total), probe.ShowOnly)
	add("unowned", strconv.Itoa(s.Unowned), probe.ShowOnly)
	if s.OwnersError != nil {
		add("owners/error", s.OwnersError.Name(), probe.Exact)
	}
	// Counts per state move with timing between healthy replicas (a peer's probe just
	// closed: CLOSE-WAIT 8 against none), so they are shown, not compared; which socket
	// families a process uses at all is compared.
	counts, held := map[string]int{}, map[string]bool{}
	for _, o := range s.Owners {
		for ts, n := range o.Counts {
			counts[keyOwner+safe(o.Comm)+"/"+ts] += n
			table, _, _ := strings.Cut(ts, "/")
			held[keyOwner+safe(o.Comm)+"/"+table] = true
		}
	}
	for k, n := range counts {
		add(k, strconv.Itoa(n), probe.ShowOnly)
	}
	for k := range held {
		add(k, "yes", probe.Exact)
	}
	counts = map[string]int{}
	for _, g := range s.Groups {
		var p string
		switch g.Kind {
		case "dev":
			p = keyDev
		case "addr":
			p = keyAddr
		case "mark":
			p = keyMark
		case "syn-sent":
			p = keySynSent
		default:
			continue
		}
		counts[p+safe(g.Comm)+"/"+g.Table+"/"+g.Value] += g.Count
	}
	for k, n := range counts {
		add(k, strconv.Itoa(n), probe.Exact)
	}
	for k, v := range listenFacts(*s) {
		add(k, v, probe.Exact)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// listenFacts: one fact per protocol and port, saying which families reach it, from
// which addresses, held by whom. UDP sockets on ephemeral ports are clients, not
// listeners; a TCP listener on one gets "<ephemeral>" as its port.
func listenFacts(s Section) map[string]string {
	type port struct {
		v4, dual, v6, maybe6 bool
		addrs, comms         map[string]bool
	}
	ports := map[string]*port{}
	for _, l := range s.Listeners {
		ap, err := netip.ParseAddrPort(l.Local)
		if err != nil {
			continue
		}
		proto := strings.TrimSuffix(l.Table, "6")
		p := strconv.Itoa(int(ap.Port()))
		if inRange(int(ap.Port()), s.EphemeralPorts) {
			if proto == "udp" {
				continue
			}
			p = "<ephemeral>"
		}
		k := keyListen + proto + "/" + p
		e := ports[k]
		if e == nil {
			e = &port{addrs: map[string]bool{}, comms: map[string]bool{}}
			ports[k] = e
		}
		a := ap.Addr()
		switch {
		case a.Is4() || a.Is4In6():
			e.v4 = true
		case l.V6Only == nil && a.IsUnspecified():
			e.maybe6 = true
		case l.V6Only != nil && !*l.V6Only && a.IsUnspecified():
			e.dual = true
		default:
			e.v6 = true
		}
		addr := a.String()
		if a.Is6() && !a.Is4In6() {
			addr = "[" + addr + "]"
		}
		if l.Dev != "" {
			addr += "%" + l.Dev
		}
		e.addrs[addr] = true
		e.comms[safe(l.Comm)] = true
	}
	out := map[string]string{}
	for k, e := range ports {
		reach := reachV6
		switch {
		case e.dual || e.v4 && (e.v6 || e.maybe6):
			reach = reachDual
		case e.v4:
			reach = reachV4
		case e.maybe6:
			reach = reachMaybe6
		}
		out[k] = reach + " " + strings.Join(sortedSet(e.addrs), ",") + " (" + strings.Join(sortedSet(e.comms), ",") + ")"
	}
	return out
}

// safe keeps a comm from adding key levels.
func safe(comm string) string {
	if comm == "" {
		return "(unknown)"
	}
	return strings.ReplaceAll(comm, "/", "_")
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
