package dnsconfig

import (
	"bufio"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// HostEntry is one name of /etc/hosts with every address it is given, in file order.
type HostEntry struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
}

// ParseHosts reads hosts(5). Names are case-insensitive, so they are lowered; a name on
// several lines collects all its addresses (getaddrinfo returns them all). Lines whose
// first field is not an address are skipped, as the resolvers do.
func ParseHosts(r io.Reader) ([]HostEntry, error) {
	byName := map[string]*HostEntry{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, n := range f[1:] {
			n = strings.ToLower(n)
			e := byName[n]
			if e == nil {
				e = &HostEntry{Name: n}
				byName[n] = e
				order = append(order, n)
			}
			e.Addrs = append(e.Addrs, addr.String())
		}
	}
	out := make([]HostEntry, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, sc.Err()
}

// ParseNsswitch reads nsswitch.conf(5) into database → sources ("hosts" → "files dns"),
// whitespace normalised so equal configurations compare equal.
func ParseNsswitch(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		db, srcs, ok := strings.Cut(line, ":")
		db = strings.TrimSpace(db)
		if !ok || db == "" || strings.ContainsAny(db, " \t") {
			continue
		}
		out[db] = strings.Join(strings.Fields(srcs), " ")
	}
	return out, sc.Err()
}

// GaiRule is one "precedence", "label" or "scopev4" line of gai.conf.
type GaiRule struct {
	Prefix string `json:"prefix"`
	Value  int    `json:"value"`
}

// Gai is gai.conf(5) as glibc's getaddrinfo reads it (musl ignores the file).
type Gai struct {
	Precedence []GaiRule `json:"precedence,omitempty"`
	Label      []GaiRule `json:"label,omitempty"`
	Scopev4    []GaiRule `json:"scopev4,omitempty"`
	Reload     string    `json:"reload,omitempty"`
}

// ParseGai reads gai.conf. Malformed lines are skipped, as glibc does.
func ParseGai(r io.Reader) (*Gai, error) {
	g := &Gai{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "reload" {
			g.Reload = f[1]
			continue
		}
		if len(f) != 3 {
			continue
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil {
			continue
		}
		v, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		rule := GaiRule{Prefix: p.Masked().String(), Value: v}
		switch f[0] {
		case "precedence":
			g.Precedence = append(g.Precedence, rule)
		case "label":
			g.Label = append(g.Label, rule)
		case "scopev4":
			g.Scopev4 = append(g.Scopev4, rule)
		}
	}
	return g, sc.Err()
}

// defaultPrecedence is RFC 3484's table, glibc's when gai.conf sets no precedence.
var defaultPrecedence = []GaiRule{
	{"::1/128", 50}, {"::/0", 40}, {"2002::/16", 30}, {"::/96", 20}, {"::ffff:0.0.0.0/96", 10},
}

// Prefers says which family glibc's getaddrinfo sorts first for a global destination:
// "ipv4" when IPv4-mapped addresses have a higher precedence than ::/0, else "ipv6".
func (g *Gai) Prefers() string {
	table := defaultPrecedence
	if g != nil && len(g.Precedence) > 0 {
		table = g.Precedence
	}
	v4, any := -1, 40
	for _, r := range table {
		switch r.Prefix {
		case "::ffff:0.0.0.0/96":
			v4 = r.Value
		case "::/0":
			any = r.Value
		}
	}
	if v4 > any {
		return "ipv4"
	}
	return "ipv6"
}

// PrecedenceString is the effective precedence table as one canonical string.
func (g *Gai) PrecedenceString() string {
	if g == nil || len(g.Precedence) == 0 {
		return "default"
	}
	parts := make([]string, len(g.Precedence))
	for i, r := range g.Precedence {
		parts[i] = r.Prefix + "=" + strconv.Itoa(r.Value)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
