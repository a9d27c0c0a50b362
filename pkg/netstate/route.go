package netstate

import (
	"fmt"
	"net"
	"strings"
)

// Route is one route as `ip route show table all` would print it.
type Route struct {
	Family   string    `json:"family"` // "ipv4" or "ipv6"
	Table    string    `json:"table"`  // "main", "local", "default" or the number
	Type     string    `json:"type"`   // unicast, local, broadcast, unreachable, blackhole, prohibit, throw, ...
	Dst      string    `json:"dst"`    // "default", a host address, or a CIDR
	Gw       string    `json:"gw,omitempty"`
	Dev      string    `json:"dev,omitempty"`
	Src      string    `json:"src,omitempty"`
	Proto    string    `json:"proto,omitempty"`
	Scope    string    `json:"scope,omitempty"`
	Metric   int       `json:"metric,omitempty"`
	Tos      int       `json:"tos,omitempty"`
	MTU      int       `json:"mtu,omitempty"`
	AdvMSS   int       `json:"advmss,omitempty"`
	Hoplimit int       `json:"hoplimit,omitempty"`
	InitCwnd int       `json:"initcwnd,omitempty"`
	Flags    []string  `json:"flags,omitempty"`
	Nexthops []Nexthop `json:"nexthops,omitempty"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Gw     string   `json:"gw,omitempty"`
	Dev    string   `json:"dev,omitempty"`
	Weight int      `json:"weight"`
	Flags  []string `json:"flags,omitempty"`
}

// Key lines the route up across subjects: family, table, type and destination, plus the
// device for gateway-less routes (IPv6 has one fe80::/64 per link) and metric and TOS
// when set, because those may legitimately coexist for one destination.
func (r Route) Key() string {
	k := r.Family + "/" + r.Table + "/" + r.Type + "/" + r.Dst
	if r.Gw == "" && len(r.Nexthops) == 0 && r.Dev != "" && r.Dev != "lo" {
		k += " dev " + r.Dev
	}
	if r.Tos != 0 {
		k += fmt.Sprintf(" tos %#x", r.Tos)
	}
	if r.Metric != 0 {
		k += fmt.Sprintf(" metric %d", r.Metric)
	}
	return k
}

// Value is the canonical rendering of everything not in the key, in ip(8)'s words.
func (r Route) Value() string {
	var p []string
	add := func(k, v string) {
		if v != "" {
			p = append(p, k+" "+v)
		}
	}
	addInt := func(k string, v int) {
		if v != 0 {
			p = append(p, fmt.Sprintf("%s %d", k, v))
		}
	}
	add("via", r.Gw)
	add("dev", r.Dev)
	add("proto", r.Proto)
	if r.Scope != "global" {
		add("scope", r.Scope)
	}
	add("src", r.Src)
	addInt("mtu", r.MTU)
	addInt("advmss", r.AdvMSS)
	addInt("hoplimit", r.Hoplimit)
	addInt("initcwnd", r.InitCwnd)
	p = append(p, r.Flags...)
	for _, nh := range r.Nexthops {
		s := "nexthop"
		if nh.Gw != "" {
			s += " via " + nh.Gw
		}
		if nh.Dev != "" {
			s += " dev " + nh.Dev
		}
		s += fmt.Sprintf(" weight %d", nh.Weight)
		for _, f := range nh.Flags {
			s += " " + f
		}
		p = append(p, s)
	}
	return strings.Join(p, " ")
}

// IsDefault: a route to everywhere of its family.
func (r Route) IsDefault() bool { return r.Dst == "default" }

func dst(n *net.IPNet) string {
	if n == nil {
		return "default"
	}
	ones, bits := n.Mask.Size()
	switch {
	case ones == 0 && n.IP.IsUnspecified():
		return "default"
	case ones == bits:
		return n.IP.String()
	}
	return n.String()
}

func ipString(ip net.IP) string {
	if len(ip) == 0 {
		return ""
	}
	return ip.String()
}

func devName(idx int, names map[int]string) string {
	if idx == 0 {
		return ""
	}
	if n, ok := names[idx]; ok {
		return n
	}
	return fmt.Sprintf("if%d", idx)
}
