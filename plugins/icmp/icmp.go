// Package icmp sends ICMP echo requests to icmp:// targets (and the default gateway): an
// unprivileged ICMP datagram socket where ping_group_range allows it, else a raw socket
// (NET_RAW), else the section says why neither could be opened.
package icmp

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

const Name = "icmp"

// Socket kinds, in the order they are tried.
const (
	MethodDgram       = "dgram"
	MethodRaw         = "raw"
	MethodUnavailable = "unavailable"
)

// Outcome names that are not errnos.
const (
	NoReply = "no-reply"
)

var payload = []byte("netdiff-probe-echo")

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Active,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"echo-differs":      ruleEchoDiffers,
			"ping-ok-tcp-fails": rulePingOKTCPFails,
		},
		Analysis: &analysis,
	})
}

// Plugin is the ICMP echo probe.
type Plugin struct{}

// Section is the "icmp" section.
type Section struct {
	Count   int            `json:"count"`
	Targets []TargetResult `json:"targets"`
}

// TargetResult is one icmp:// target.
type TargetResult struct {
	Target    string               `json:"target"`
	Resolve   *netprobe.Resolution `json:"resolve"`
	Addresses []AddrResult         `json:"addresses"`
}

// AddrResult is the echo run to one address.
type AddrResult struct {
	Address string `json:"address"`
	Family  string `json:"family"`
	Key     string `json:"key"`
	// Method is the socket that could be opened: dgram (unprivileged), raw, or unavailable.
	Method string `json:"method"`
	// OpenErrors says why the sockets tried before Method (or all of them) failed.
	OpenErrors map[string]*report.Error `json:"openErrors,omitempty"`
	Echo       *netprobe.Run            `json:"echo,omitempty"`
}

// Collect pings every icmp:// target concurrently, env.Attempts echoes each.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	start := time.Now()
	deadline := netprobe.Deadline(ctx, start, env.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sec := &Section{Count: env.Attempts, Targets: []TargetResult{}}
	for _, t := range env.Targets {
		if t.Scheme == target.ICMP {
			sec.Targets = append(sec.Targets, TargetResult{Target: t.String()})
		}
	}
	var wg sync.WaitGroup
	for i := range sec.Targets {
		tr := &sec.Targets[i]
		t, _ := target.Parse(tr.Target)
		tr.Resolve = netprobe.Resolve(ctx, t.Host)
		addrs := tr.Resolve.Addrs()
		tr.Addresses = make([]AddrResult, len(addrs))
		for j, a := range addrs {
			wg.Add(1)
			go func(ar *AddrResult, a netprobe.Addr) {
				defer wg.Done()
				*ar = ping(ctx, a, env.Attempts, env.Every(env.Attempts), deadline)
			}(&tr.Addresses[j], a)
		}
	}
	wg.Wait()
	return sec, nil
}

func ping(ctx context.Context, a netprobe.Addr, count int, every time.Duration, deadline time.Time) AddrResult {
	ar := AddrResult{Address: a.IP.String(), Family: a.Family, Key: a.Key()}
	conn, method, errs := open(a.Family)
	ar.Method, ar.OpenErrors = method, errs
	if conn == nil {
		return ar
	}
	defer conn.Close()
	var dst net.Addr = &net.IPAddr{IP: a.IP.AsSlice(), Zone: a.IP.Zone()}
	if method == MethodDgram {
		dst = &net.UDPAddr{IP: a.IP.AsSlice(), Zone: a.IP.Zone()}
	}
	// Raw sockets see every ICMP packet of the namespace; the id tells ours apart. Datagram
	// sockets get the id replaced by the kernel, which matches replies itself.
	id := rand.IntN(0xffff) + 1
	slot := netprobe.Slot(time.Now(), deadline, count)
	run := netprobe.Summarize(netprobe.Sequential(ctx, count, slot, every, deadline, func(d time.Time) netprobe.Attempt {
		return echo(conn, a.Family, method, dst, id, d)
	}))
	ar.Echo = &run
	return ar
}

var seqMu sync.Mutex
var seqN int

func nextSeq() int {
	seqMu.Lock()
	defer seqMu.Unlock()
	seqN = (seqN + 1) & 0xffff
	return seqN
}

func open(family string) (*xicmp.PacketConn, string, map[string]*report.Error) {
	nets := map[string][2]string{
		"ipv4": {"udp4", "ip4:icmp"},
		"ipv6": {"udp6", "ip6:ipv6-icmp"},
	}[family]
	errs := map[string]*report.Error{}
	for i, method := range []string{MethodDgram, MethodRaw} {
		addr := "0.0.0.0"
		if family == "ipv6" {
			addr = "::"
		}
		c, err := xicmp.ListenPacket(nets[i], addr)
		if err == nil {
			if len(errs) == 0 {
				errs = nil
			}
			return c, method, errs
		}
		errs[method] = report.ErrorOf(err)
	}
	return nil, MethodUnavailable, errs
}

func echo(conn *xicmp.PacketConn, family, method string, dst net.Addr, id int, deadline time.Time) netprobe.Attempt {
	seq := nextSeq()
	var typ, reply xicmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if family == "ipv6" {
		typ, reply, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := xicmp.Message{Type: typ, Body: &xicmp.Echo{ID: id, Seq: seq, Data: payload}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return netprobe.Attempt{Errno: "EINVAL", Message: "marshal echo: " + err.Error()}
	}
	start := time.Now()
	if _, err := conn.WriteTo(b, dst); err != nil {
		e := report.ErrorOf(err)
		return netprobe.Attempt{Errno: e.Name(), Stage: netprobe.StageImmediate, Message: "send echo: " + err.Error(), Dur: time.Since(start)}
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return netprobe.Attempt{Errno: NoReply, Message: "no echo reply before the deadline", Dur: time.Since(start)}
			}
			e := report.ErrorOf(err)
			return netprobe.Attempt{Errno: e.Name(), Stage: netprobe.StagePoll, Message: "read: " + err.Error(), Dur: time.Since(start)}
		}
		m, err := xicmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		switch body := m.Body.(type) {
		case *xicmp.Echo:
			if m.Type != reply || body.Seq != seq || (method == MethodRaw && body.ID != id) {
				continue
			}
			return netprobe.Attempt{OK: true, Dur: time.Since(start)}
		case *xicmp.DstUnreach:
			// Only raw sockets see these; they answer for our echo when they quote it.
			if method == MethodRaw && quotesOurEcho(body.Data, family, id, seq) {
				return netprobe.Attempt{Errno: "ICMP-UNREACH", Stage: netprobe.StagePoll, Message: "destination unreachable from " + peer.String(), Dur: time.Since(start)}
			}
		}
	}
}

// quotesOurEcho reports whether an ICMP error quotes the echo request with our id and seq.
func quotesOurEcho(quoted []byte, family string, id, seq int) bool {
	hdr := 20
	if family == "ipv6" {
		hdr = 40
	} else if len(quoted) > 0 {
		hdr = int(quoted[0]&0x0f) * 4
	}
	if len(quoted) < hdr+8 {
		return false
	}
	e := quoted[hdr:]
	return int(e[4])<<8|int(e[5]) == id && int(e[6])<<8|int(e[7]) == seq
}

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Key is an address's fact key: "<target>/<addr>".
func Key(tgt, addrKey string) string { return tgt + "/" + addrKey }

// facts: the echo outcome (Exact), the socket kind (Exact), the rtt (Info).
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	for _, t := range s.Targets {
		if t.Resolve != nil && !t.Resolve.Literal && t.Resolve.Error != nil {
			out = append(out, probe.Fact{Key: t.Target, Value: "error " + t.Resolve.Error.Name()})
		}
		for _, a := range t.Addresses {
			k := Key(t.Target, a.Key)
			out = append(out, probe.Fact{Key: k + "/method", Value: a.Method})
			if a.Echo == nil {
				out = append(out, probe.Fact{Key: k, Value: "unavailable: " + openReason(a)})
				continue
			}
			out = append(out,
				probe.Fact{Key: k, Value: a.Echo.Format("ok")},
				probe.Fact{Key: k + "/rtt", Value: a.Echo.FormatLatency(), Kind: probe.ShowOnly})
		}
	}
	return out
}

func openReason(a AddrResult) string {
	var parts []string
	for _, m := range []string{MethodDgram, MethodRaw} {
		if e := a.OpenErrors[m]; e != nil {
			parts = append(parts, m+" "+e.Name())
		}
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return joinComma(parts)
}
