// Package sockets reports every inet socket (TCP, UDP, raw; IPv4 and IPv6) of the network
// namespace the way `ss -tuwanpe` would, with the process holding it, how it is bound
// (device, source address, fwmark) and, for TCP, retransmits and RTT.
package sockets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const (
	// MaxSockets caps the socket list; the summaries below it count every socket.
	MaxSockets = 500
	// MaxGroups caps each summary list (per process, listeners, bound, marked, SYN-SENT).
	MaxGroups = 500
	// maxFDsPerProcess bounds the descriptors read per process when mapping owners.
	maxFDsPerProcess = 100000
)

// Tables are the socket tables read, in /proc/net's names.
var Tables = []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"}

// Socket is one socket. Local and Remote are addr:port ([v6]:port); for raw sockets the
// port is the IP protocol.
type Socket struct {
	Table   string `json:"t"`
	State   string `json:"st"`
	Local   string `json:"l"`
	Remote  string `json:"r,omitempty"`
	Ifindex int    `json:"ifi,omitempty"`
	// Dev is the interface the socket is bound to (SO_BINDTODEVICE), by name where it resolves.
	Dev   string `json:"dev,omitempty"`
	UID   uint32 `json:"uid,omitempty"`
	Inode uint64 `json:"ino,omitempty"`
	Mark  uint32 `json:"mark,omitempty"`
	// V6Only is IPV6_V6ONLY of IPv6 sockets (netlink only): false means a [::] listener
	// takes IPv4 too.
	V6Only      *bool    `json:"v6only,omitempty"`
	Freebind    bool     `json:"freebind,omitempty"`
	Transparent bool     `json:"transparent,omitempty"`
	BindNoPort  bool     `json:"bindNoPort,omitempty"` // IP_BIND_ADDRESS_NO_PORT: a source address chosen before connect
	TCP         *TCPInfo `json:"tcp,omitempty"`
	PID         int      `json:"pid,omitempty"`
	Comm        string   `json:"comm,omitempty"`
}

// TCPInfo is the part of tcp_info that tells a struggling connection apart.
type TCPInfo struct {
	Retransmits  int    `json:"retrans,omitempty"` // of the current segment
	TotalRetrans uint32 `json:"totalRetrans,omitempty"`
	RTTUs        uint32 `json:"rttUs,omitempty"`
	RTTVarUs     uint32 `json:"rttVarUs,omitempty"`
}

// Source says where one table came from.
type Source struct {
	// Via is "netlink" (sock_diag) or "proc" (/proc/net, no device, mark or TCP info).
	Via string `json:"via"`
	// Marks is true when the kernel sent fwmarks (it does only to CAP_NET_ADMIN).
	Marks bool `json:"marks,omitempty"`
	// NetlinkError is why netlink was not used; Error why the table could not be read at all.
	NetlinkError *report.Error `json:"netlinkError,omitempty"`
	Error        *report.Error `json:"error,omitempty"`
}

// Owner counts the sockets of one process by table and state ("tcp/ESTAB": 2).
type Owner struct {
	PID    int            `json:"pid,omitempty"`
	Comm   string         `json:"comm"`
	Counts map[string]int `json:"counts"`
}

// Listener is a listening TCP socket or a bound, unconnected UDP socket.
type Listener struct {
	Table  string `json:"t"`
	Local  string `json:"l"`
	V6Only *bool  `json:"v6only,omitempty"`
	Dev    string `json:"dev,omitempty"`
	Comm   string `json:"comm,omitempty"`
}

// Group counts sockets of one process that share something worth a fact: a bound device
// ("dev"), a specific source address of an unconnected socket ("addr"), a fwmark
// ("mark"), or a SYN-SENT destination ("syn-sent").
type Group struct {
	Kind  string `json:"kind"`
	Comm  string `json:"comm"`
	Table string `json:"t"`
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Section is the stored shape of sections.sockets.
type Section struct {
	Sources map[string]Source `json:"sources"`
	// EphemeralPorts is net.ipv4.ip_local_port_range, so facts can leave such ports out of keys.
	EphemeralPorts [2]int `json:"ephemeralPorts,omitempty"`
	// States counts every socket by table and state.
	States    map[string]map[string]int `json:"states"`
	Owners    []Owner                   `json:"owners"`
	Listeners []Listener                `json:"listeners"`
	Groups    []Group                   `json:"groups"`
	// Unowned counts sockets no visible process holds (TIME-WAIT, other PID namespaces).
	Unowned int `json:"unowned"`
	// OwnersError is set when no process's descriptors could be read.
	OwnersError *report.Error `json:"ownersError,omitempty"`
	Sockets     []Socket      `json:"sockets"`
	Total       int           `json:"total"`
	Truncated   bool          `json:"truncated,omitempty"`
}

type Plugin struct{}

const Name = "sockets"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"syn-sent":      synSentRule,
			"bound":         boundRule,
			"listen-family": listenRule,
			"mark":          markRule,
		},
	})
}

func ephemeralPorts(proc string) [2]int {
	b, err := os.ReadFile(filepath.Join(proc, "sys", "net", "ipv4", "ip_local_port_range"))
	if err != nil {
		return [2]int{}
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return [2]int{}
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return [2]int{}
	}
	return [2]int{lo, hi}
}

func ifNames() map[int]string {
	out := map[int]string{}
	ifs, err := net.Interfaces()
	if err != nil {
		return out
	}
	for _, i := range ifs {
		out[i.Index] = i.Name
	}
	return out
}

// Holder is the process that holds a socket inode (the lowest PID when several share it).
type Holder struct {
	PID  int
	Comm string
}

// MapOwners maps the wanted socket inodes to the visible processes holding them,
// through the socket:[INODE] links in /proc/PID/fd. Every process is walked (the process
// section's list is capped, and a busy pod's socket holder may be past the cap); comm is
// read only for processes that hold a wanted socket. The prober itself (self) is left
// out. An error is returned only when no process's descriptors could be read.
func MapOwners(ctx context.Context, env *probe.Env, self int, want map[uint64]bool) (map[uint64]Holder, error) {
	proc := env.Proc
	pids, err := env.ListPIDs(self)
	if err != nil {
		return nil, err
	}
	out := map[uint64]Holder{}
	var firstErr error
	read := 0
	for _, pid := range pids {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		dir := filepath.Join(proc, strconv.Itoa(pid))
		inodes, err := SocketInodes(filepath.Join(dir, "fd"))
		if err != nil {
			if firstErr == nil && !errors.Is(err, os.ErrNotExist) {
				firstErr = fmt.Errorf("pid %d: %w", pid, err)
			}
			continue
		}
		read++
		comm := ""
		for _, ino := range inodes {
			if !want[ino] {
				continue
			}
			if _, taken := out[ino]; taken { // pids ascend: the lowest holder wins
				continue
			}
			if comm == "" {
				b, _ := os.ReadFile(filepath.Join(dir, "comm"))
				comm = strings.TrimSpace(string(b))
				if comm == "" {
					comm = "(unknown)"
				}
			}
			out[ino] = Holder{PID: pid, Comm: comm}
		}
	}
	if read == 0 && firstErr != nil {
		return out, firstErr
	}
	return out, nil
}

// SocketInodes lists the socket inodes among a process's descriptors.
func SocketInodes(fdDir string) ([]uint64, error) {
	d, err := os.Open(fdDir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(maxFDsPerProcess)
	d.Close()
	if err != nil && len(names) == 0 {
		return nil, err
	}
	var out []uint64
	var firstErr error
	for _, n := range names {
		link, err := os.Readlink(filepath.Join(fdDir, n))
		if err != nil {
			if firstErr == nil && !errors.Is(err, os.ErrNotExist) {
				firstErr = err
			}
			continue
		}
		if v, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				out = append(out, ino)
			}
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// summarise fills the counts, listeners and groups from every socket, then keeps the
// first MaxSockets in a stable order: the sockets facts are about (listening, bound,
// marked, SYN-SENT) first, then owned ones, each by process, table, state.
func summarise(s *Section, all []Socket) {
	s.States = map[string]map[string]int{}
	s.Owners, s.Listeners, s.Groups = []Owner{}, []Listener{}, []Group{}
	owners := map[int]*Owner{}
	type gkey struct{ kind, comm, table, value string }
	groups := map[gkey]int{}
	for _, k := range all {
		if s.States[k.Table] == nil {
			s.States[k.Table] = map[string]int{}
		}
		s.States[k.Table][k.State]++
		if k.Comm == "" {
			s.Unowned++
		} else {
			o := owners[k.PID]
			if o == nil {
				o = &Owner{PID: k.PID, Comm: k.Comm, Counts: map[string]int{}}
				owners[k.PID] = o
			}
			o.Counts[k.Table+"/"+k.State]++
		}
		if isListener(k) {
			s.Listeners = append(s.Listeners, Listener{Table: k.Table, Local: k.Local, V6Only: k.V6Only, Dev: k.Dev, Comm: k.Comm})
		}
		if k.Dev != "" && !linkScoped(k) {
			groups[gkey{"dev", k.Comm, k.Table, k.Dev}]++
		}
		if a := boundAddr(k, s.EphemeralPorts); a != "" {
			groups[gkey{"addr", k.Comm, k.Table, a}]++
		}
		if k.Mark != 0 {
			groups[gkey{"mark", k.Comm, k.Table, fmt.Sprintf("0x%x", k.Mark)}]++
		}
		if k.State == "SYN-SENT" {
			groups[gkey{"syn-sent", k.Comm, k.Table, k.Remote}]++
		}
	}
	for _, o := range owners {
		s.Owners = append(s.Owners, *o)
	}
	sort.Slice(s.Owners, func(i, j int) bool { return s.Owners[i].PID < s.Owners[j].PID })
	if len(s.Owners) > MaxGroups {
		s.Owners = s.Owners[:MaxGroups]
	}
	for k, n := range groups {
		s.Groups = append(s.Groups, Group{Kind: k.kind, Comm: k.comm, Table: k.table, Value: k.value, Count: n})
	}
	sort.Slice(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Comm != b.Comm {
			return a.Comm < b.Comm
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		return a.Value < b.Value
	})
	if len(s.Groups) > MaxGroups {
		s.Groups = s.Groups[:MaxGroups]
	}
	sort.Slice(s.Listeners, func(i, j int) bool {
		a, b := s.Listeners[i], s.Listeners[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Local != b.Local {
			return a.Local < b.Local
		}
		return a.Comm < b.Comm
	})
	if len(s.Listeners) > MaxGroups {
		s.Listeners = s.Listeners[:MaxGroups]
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if ia, ib := interesting(a, s.EphemeralPorts), interesting(b, s.EphemeralPorts); ia != ib {
			return ia
		}
		if (a.Comm == "") != (b.Comm == "") {
			return a.Comm != ""
		}
		if a.PID != b.PID {
			return a.PID < b.PID
		}
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.State != b.State {
			return a.State < b.State
		}
		return a.Local < b.Local
	})
	s.Total = len(all)
	if len(all) > MaxSockets {
		all, s.Truncated = all[:MaxSockets], true
	}
	s.Sockets = all
	if s.Sockets == nil {
		s.Sockets = []Socket{}
	}
}

// linkScoped: a socket on an IPv6 link-local address gets the scope's interface as its
// bound device from the kernel, without SO_BINDTODEVICE.
func linkScoped(k Socket) bool {
	for _, a := range []string{k.Local, k.Remote} {
		if ap, err := netip.ParseAddrPort(a); err == nil && (ap.Addr().IsLinkLocalUnicast() || ap.Addr().IsLinkLocalMulticast()) && ap.Addr().Is6() {
			return true
		}
	}
	return false
}

func interesting(k Socket, ephemeral [2]int) bool {
	return isListener(k) || k.Dev != "" || k.Mark != 0 || k.State == "SYN-SENT" || boundAddr(k, ephemeral) != ""
}

// isListener: a TCP socket in LISTEN, or a UDP socket bound to a port and not connected.
func isListener(k Socket) bool {
	switch {
	case strings.HasPrefix(k.Table, "tcp"):
		return k.State == "LISTEN"
	case strings.HasPrefix(k.Table, "udp"):
		return k.State == "UNCONN" && k.Remote == ""
	}
	return false
}

// boundAddr is the source address a socket that sends was bound to: an unconnected UDP
// socket on a specific address and an ephemeral port (a server binds a port of its own;
// that is a listener), an unconnected raw socket on a specific address, or any socket
// that chose its source address before connect (IP_BIND_ADDRESS_NO_PORT). A connected
// socket's local address is always specific, so without that flag it says nothing about
// an explicit bind.
func boundAddr(k Socket, ephemeral [2]int) string {
	ap, err := netip.ParseAddrPort(k.Local)
	if err != nil || ap.Addr().IsUnspecified() || ap.Addr().IsLoopback() {
		return ""
	}
	switch {
	case k.BindNoPort:
	case k.State == "UNCONN" && strings.HasPrefix(k.Table, "raw"):
	case k.State == "UNCONN" && strings.HasPrefix(k.Table, "udp") && inRange(int(ap.Port()), ephemeral):
	default:
		return ""
	}
	return ap.Addr().String()
}

func inRange(port int, r [2]int) bool { return r[0] > 0 && port >= r[0] && port <= r[1] }
