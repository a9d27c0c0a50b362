package netprobe

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// MaxAddrsPerFamily caps how many resolved addresses of one family are probed: a name with
// dozens of A records would otherwise multiply every probe.
const MaxAddrsPerFamily = 4

// Resolution is what a name resolved to, in the order the resolver returned (getaddrinfo
// style, RFC 6724 sorted for DNS answers), which is the order a client tries them in.
type Resolution struct {
	Name      string        `json:"name"`
	Addresses []string      `json:"addresses"`
	Error     *report.Error `json:"error,omitempty"`
	LatencyMs float64       `json:"latencyMs"`
	// Literal is true when the host was an IP address and nothing was resolved.
	Literal bool `json:"literal,omitempty"`
}

// Addr is one probed address with its place among the addresses of its family.
type Addr struct {
	IP     netip.Addr
	Family string
	// Index counts from 1 within the family, in resolver order.
	Index int
}

// Key is the address's place as used in fact keys: "ipv4", "ipv6", "ipv4#2".
func (a Addr) Key() string {
	if a.Index <= 1 {
		return a.Family
	}
	return a.Family + "#" + itoa(a.Index)
}

// Family names the address family as facts spell it.
func Family(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// Addrs lists the addresses to probe, at most MaxAddrsPerFamily per family, each family
// numbered in resolver order.
func (r *Resolution) Addrs() []Addr {
	var out []Addr
	n := map[string]int{}
	for _, s := range r.Addresses {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		f := Family(ip)
		if n[f] >= MaxAddrsPerFamily {
			continue
		}
		n[f]++
		out = append(out, Addr{IP: ip, Family: f, Index: n[f]})
	}
	return out
}

type cached struct {
	done chan struct{}
	res  *Resolution
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*cached{}
)

// Resolve resolves host once per process: every active plugin probes the same addresses,
// so a name that resolves differently between two lookups cannot confuse the report.
func Resolve(ctx context.Context, host string) *Resolution {
	if ip, err := netip.ParseAddr(host); err == nil {
		return &Resolution{Name: host, Addresses: []string{ip.Unmap().String()}, Literal: true}
	}
	cacheMu.Lock()
	c, ok := cache[host]
	if !ok {
		c = &cached{done: make(chan struct{})}
		cache[host] = c
		cacheMu.Unlock()
		c.res = lookup(ctx, host)
		close(c.done)
		return c.res
	}
	cacheMu.Unlock()
	select {
	case <-c.done:
		return c.res
	case <-ctx.Done():
		return &Resolution{Name: host, Addresses: []string{}, Error: report.ErrorOf(ctx.Err())}
	}
}

func lookup(ctx context.Context, host string) *Resolution {
	start := time.Now()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	r := &Resolution{Name: host, Addresses: []string{}, LatencyMs: ms(time.Since(start))}
	if err != nil {
		r.Error = report.ErrorOf(err)
		var dnsErr *net.DNSError
		if asDNSError(err, &dnsErr) && dnsErr.IsNotFound {
			r.Error.Errno = "NXDOMAIN"
		}
		return r
	}
	for _, ip := range ips {
		r.Addresses = append(r.Addresses, ip.Unmap().String())
	}
	return r
}
