package diff

import (
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// NormaliseFunc is Comparison.Normalise for these subjects: subject i's strings
// normalised as its facts were.
func NormaliseFunc(subjects []string, ids []Identity) func(i int, s string) string {
	return func(i int, s string) string { return NewNormaliser(subjects, ids, i).Normalise(s) }
}

// minNameLen: names shorter than this ("a", "s1") are replaced only as whole fields,
// never inside a word; "lo" is never a subject's name (it is every namespace's loopback).
const minNameLen = 3

// Normaliser rewrites the strings of one subject's facts. It replaces whole tokens only:
// an address is matched when it is not part of a longer number, word or address, so
// 10.0.0.1 never matches inside 10.0.0.12, and IPv6 addresses match in any spelling.
type Normaliser struct {
	ips   map[netip.Addr]string
	macs  map[string]string
	names []nameRepl // longest first, so "pod-a.ns" wins over "pod-a"
}

// nameRepl replaces a name; a short one (under minNameLen) only where it stands alone
// between '/', whitespace, '=', ',' or the ends of the string ("hosts/s1", "HOSTNAME=s1"),
// so that a pod called "s1" normalises without touching "s1" inside other words.
type nameRepl struct {
	name, to string
	short    bool
}

// NewNormaliser builds the normaliser for subject self among ids (aligned with subjects).
// Where a value belongs to several subjects, self wins, then the lowest index.
func NewNormaliser(subjects []string, ids []Identity, self int) *Normaliser {
	n := &Normaliser{ips: map[netip.Addr]string{}, macs: map[string]string{}}
	order := make([]int, 0, len(ids))
	order = append(order, self)
	for j := range ids {
		if j != self {
			order = append(order, j)
		}
	}
	seenName := map[string]bool{}
	gwLocal, netLocal := nodeLocalOK(ids)
	for _, j := range order {
		id := ids[j]
		ph := func(selfForm, peerForm string) string {
			if j == self {
				return selfForm
			}
			return contract.PeerPlaceholder(peerForm, subjects, j)
		}
		for _, s := range id.IPs {
			if a, ok := contract.ParseIdentityIP(s); ok {
				if _, dup := n.ips[a]; !dup {
					n.ips[a] = ph(SelfIP, PeerIP)
				}
			}
		}
		addIP := func(a netip.Addr, to string) {
			if _, dup := n.ips[a]; !dup {
				n.ips[a] = to
			}
		}
		if gwLocal[j] {
			for _, s := range id.Gateways {
				if a, ok := contract.ParseIdentityIP(s); ok {
					addIP(a, ph(SelfGateway, PeerGateway))
				}
			}
		}
		if netLocal[j] {
			for _, s := range id.NodeNets {
				if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && p.Bits() < p.Addr().BitLen()-1 {
					p = p.Masked()
					addIP(p.Addr().Unmap(), ph(SelfNodeNet, PeerNodeNet))
					if p.Addr().Is4() {
						addIP(lastAddr(p), ph(SelfNodeBcast, PeerNodeBcast))
					}
				}
			}
		}
		for _, m := range id.MACs {
			m = strings.ToLower(strings.TrimSpace(m))
			if isMAC(m) {
				if _, dup := n.macs[m]; !dup {
					n.macs[m] = ph(SelfMAC, PeerMAC)
				}
			}
		}
		addName := func(s, to string) {
			if s == "" || seenName[s] || !hasLetter(s) || s == "lo" {
				return
			}
			seenName[s] = true
			n.names = append(n.names, nameRepl{s, to, len(s) < minNameLen})
		}
		addName(id.Hostname, ph(SelfHostname, PeerHostname))
		for _, s := range id.Names {
			addName(s, ph(SelfName, PeerName))
		}
	}
	sort.SliceStable(n.names, func(a, b int) bool { return len(n.names[a].name) > len(n.names[b].name) })
	return n
}

// nodeLocalOK says whose node values (gateways, node ranges) may become placeholders:
// only when every subject's node is known and they are not all one node, and only for
// a subject whose values agree with those of every other subject on its node that has
// such values (on one node, a pod with another gateway is a difference, whatever runs
// elsewhere; a pod with none, like the case study's, disagrees with nobody).
func nodeLocalOK(ids []Identity) (gateways, nets []bool) {
	gateways, nets = make([]bool, len(ids)), make([]bool, len(ids))
	nodes := map[string]bool{}
	for _, id := range ids {
		if id.Node == "" {
			return gateways, nets
		}
		nodes[id.Node] = true
	}
	if len(nodes) < 2 {
		return gateways, nets
	}
	agree := func(values func(Identity) []string) []bool {
		seen := map[string]string{} // node -> the one value set its subjects have, "\x00" when two differ
		for _, id := range ids {
			v := values(id)
			if len(v) == 0 {
				continue
			}
			k := strings.Join(slices.Sorted(slices.Values(v)), ",")
			if prev, ok := seen[id.Node]; ok && prev != k {
				k = "\x00"
			}
			seen[id.Node] = k
		}
		ok := make([]bool, len(ids))
		for i, id := range ids {
			ok[i] = seen[id.Node] != "\x00"
		}
		return ok
	}
	return agree(func(id Identity) []string { return id.Gateways }), agree(func(id Identity) []string { return id.NodeNets })
}

// lastAddr is an IPv4 prefix's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// peerMarkers are the placeholders naming subject j; a key holding one is a fact about j
// that j itself cannot have, so j's missing value there is not a difference.
func peerMarkers(subjects []string, j int) []string {
	if len(subjects) <= 2 {
		return nil
	}
	var out []string
	for _, f := range []string{PeerIP, PeerMAC, PeerHostname, PeerName, PeerGateway, PeerNodeNet, PeerNodeBcast} {
		out = append(out, contract.PeerPlaceholder(f, subjects, j))
	}
	return out
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// span is one replacement found in the original string; to=="" keeps the text (an
// address that is not an identity still shields its parts from shorter matches).
type span struct {
	start, end int
	to         string
}

// Normalise returns s with identity tokens replaced by placeholders. All matches are
// found on the original string, so placeholders are never matched again.
func (n *Normaliser) Normalise(s string) string {
	if n == nil || s == "" || (len(n.ips) == 0 && len(n.macs) == 0 && len(n.names) == 0) {
		return s
	}
	var buf [8]span
	spans := buf[:0]
	if len(n.ips) > 0 || len(n.macs) > 0 {
		spans = n.addrSpans(s, spans)
	}
	for _, nr := range n.names {
		spans = nameSpans(s, nr, spans)
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	// Most spans keep their text (addresses that are nobody's identity): the copy is
	// made at the first span that replaces; up to there the output is s itself.
	var b strings.Builder
	pos, done := 0, 0 // s[:done] is in b (once changed), s[done:pos] is kept as is
	changed := false
	for _, sp := range spans {
		if sp.start < pos {
			continue // overlaps an earlier, longer match
		}
		pos = sp.end
		if sp.to == "" {
			continue
		}
		if !changed {
			b.Grow(len(s))
			changed = true
		}
		b.WriteString(s[done:sp.start])
		b.WriteString(sp.to)
		done = sp.end
	}
	if !changed {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isWord reports bytes that glue a token to its neighbour: letters, digits, '_'.
// Non-ASCII bytes count too, so a token is never cut out of a UTF-8 word.
func isWord(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c == '_' || c >= 0x80
}

// addrSpans finds IPv4, IPv6 and MAC tokens. A candidate is a maximal run of hex digits,
// ':' and '.', not glued to a word on either side.
func (n *Normaliser) addrSpans(s string, spans []span) []span {
	for i := 0; i < len(s); {
		c := s[i]
		if !isHex(c) && c != ':' && c != '.' {
			i++
			continue
		}
		j := i
		for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
			j++
		}
		spans = n.runSpans(s, i, j, spans)
		i = j
	}
	return spans
}

// runSpans interprets s[i:j], a maximal run of [0-9a-fA-F:.].
func (n *Normaliser) runSpans(s string, i, j int, spans []span) []span {
	if i > 0 && isWord(s[i-1]) {
		// Glued to a word on the left ("udp:10.0.0.1", "cafe10.0.0.1"): only what follows
		// a ':' of the run can still be a token.
		k := strings.IndexByte(s[i:j], ':')
		if k < 0 {
			return spans
		}
		i += k
	}
	if j < len(s) && isWord(s[j]) {
		// Glued on the right: only a prefix ending at ':' can be a token ("10.0.0.1:80x").
		k := strings.LastIndexByte(s[i:j], ':')
		if k < 0 {
			return spans
		}
		j = i + k
	}
	// Leading/trailing punctuation belongs to the sentence, not the address, unless it
	// is the "::" of an IPv6 address.
	for i < j && s[i] == '.' {
		i++
	}
	for i < j && s[j-1] == '.' {
		j--
	}
	for i < j && s[i] == ':' && !strings.HasPrefix(s[i:j], "::") {
		i++
	}
	for i < j && s[j-1] == ':' && !strings.HasSuffix(s[i:j], "::") {
		j--
	}
	if i >= j {
		return spans
	}
	tok := s[i:j]
	colons := strings.Count(tok, ":")
	if colons >= 2 {
		if a, err := netip.ParseAddr(tok); err == nil {
			if a.Is4In6() {
				// ::ffff:10.0.0.1 keeps its prefix: a v4-mapped socket is not a v4 one.
				if to, ok := n.ips[a.Unmap()]; ok {
					if d := strings.LastIndexByte(tok, ':'); strings.IndexByte(tok[d:], '.') > 0 {
						return append(spans, span{i + d + 1, j, to})
					}
					return append(spans, span{i, j, to})
				}
			}
			return append(spans, span{i, j, n.ips[a]})
		}
		if colons == 5 && len(tok) == 17 && isMAC(tok) {
			return append(spans, span{i, j, n.macs[strings.ToLower(tok)]})
		}
	}
	// An IPv4 address, possibly with a ":port" or inside "a:b:10.0.0.1".
	if strings.IndexByte(tok, '.') < 0 {
		return spans
	}
	for start, k := 0, 0; k <= len(tok); k++ {
		if k < len(tok) && tok[k] != ':' {
			continue
		}
		part := tok[start:k]
		if strings.Count(part, ".") == 3 {
			if a, err := netip.ParseAddr(part); err == nil && a.Is4() {
				spans = append(spans, span{i + start, i + k, n.ips[a]})
			}
		}
		start = k + 1
	}
	return spans
}

// isMAC accepts the 6-byte colon form Linux prints ("0a:58:0a:f4:00:05").
func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for k := 0; k < 17; k++ {
		if k%3 == 2 {
			if s[k] != ':' {
				return false
			}
		} else if !isHex(s[k]) {
			return false
		}
	}
	return true
}

// isNameChar is a byte that may continue a host or interface name.
func isNameChar(c byte) bool { return isWord(c) || c == '-' }

// isFieldSep separates whole fields in keys and values.
func isFieldSep(c byte) bool { return c == '/' || c == ' ' || c == '\t' || c == '=' || c == ',' }

func nameSpans(s string, nr nameRepl, spans []span) []span {
	for off := 0; off < len(s); {
		k := strings.Index(s[off:], nr.name)
		if k < 0 {
			break
		}
		start, end := off+k, off+k+len(nr.name)
		bound := func(c byte) bool { return !isNameChar(c) }
		if nr.short {
			bound = isFieldSep
		}
		if (start == 0 || bound(s[start-1])) && (end == len(s) || bound(s[end])) {
			spans = append(spans, span{start, end, nr.to})
		}
		off = start + 1
	}
	return spans
}
