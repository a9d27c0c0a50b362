package nodeside

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Decode reads a stored section.
func Decode(raw json.RawMessage) (*Section, error) {
	var s Section
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// podRange replaces the network address of a node route holding the pod.
const podRange = "<pod-range>"

// endpointChain: kube-proxy's per-endpoint chain (iptables mode), named by a hash of the
// endpoint, so every pod has its own; the pod's chains of all its Services are one fact.
var endpointChain = regexp.MustCompile(`^(KUBE-SEP-)[A-Z2-7]{16}$`)

// dispatchChain: Felix's workload dispatch chains, split by the first letters of the
// interface names ("cali-from-wl-dispatch-4"), so which of them leads to a pod's own
// chain depends on its veth's name: one dispatch, one fact.
var dispatchChain = regexp.MustCompile(`^(cali-(?:from|to)-wl-dispatch)(?:-[0-9A-Za-z]+)?$`)

// Facts is the flattening of a decoded section.
func Facts(s *Section) []probe.Fact {
	veth := ""
	if s.Veth != nil {
		veth = s.Veth.Name
	}
	norm := normaliser(s.PodIPs, veth)
	var out []probe.Fact
	add := func(k, v string, kind probe.FactKind) {
		out = append(out, probe.Fact{Key: norm(k), Value: norm(v), Kind: kind})
	}
	if s.Veth != nil {
		v := s.Veth
		add("veth", "found", probe.Exact)
		add("veth/name", v.Name, probe.ShowOnly)
		add("veth/type", v.Type, probe.Exact)
		add("veth/mtu", fmt.Sprint(v.MTU), probe.Exact)
		add("veth/state", v.OperState, probe.Exact)
		add("veth/flags", strings.Join(sorted(v.Flags), ","), probe.Exact)
		add("veth/master", contract.OrNone(v.Master), probe.Exact)
	} else {
		v := "not found"
		if s.VethError != nil && s.VethError.Errno != "" {
			v += " (" + s.VethError.Errno + ")"
		}
		add("veth", v, probe.Exact)
	}
	for k, v := range s.Sysctls {
		add("sysctl/"+k, v, probe.Exact)
	}
	for k, e := range s.SysctlErrors {
		add("sysctl/"+k, "unreadable: "+e, probe.Exact)
	}
	fam := map[string]int{}
	for _, g := range s.RouteGet {
		f := "ipv4"
		if strings.Contains(g.IP, ":") {
			f = "ipv6"
		}
		fam[f]++
		key := "route-get/" + f
		if fam[f] > 1 {
			key += fmt.Sprintf("#%d", fam[f])
		}
		add(key, routeGetValue(g), probe.Exact)
	}
	fam = map[string]int{}
	for _, g := range s.ReplyRoute {
		f := familyOf(g.IP)
		fam[f]++
		key := "route-reply/" + f
		if fam[f] > 1 {
			key += fmt.Sprintf("#%d", fam[f])
		}
		add(key, routeGetValue(RouteGet{IP: g.IP, Route: g.Route, Error: g.Error}), probe.Exact)
		if g.Iif != "" {
			// Where replies come in from is the node's own: another node has another.
			add(key+"/from", "from "+g.From+" iif "+g.Iif, probe.ShowOnly)
		}
	}
	for _, n := range s.Neighbours {
		k := "neigh/" + familyOf(n.IP) + "/" + n.Dev
		add(k, neighValue(n), probe.Exact)
		add(k+"/state", n.State, probe.ShowOnly)
	}
	if s.NeighError != nil {
		add("neigh-error", s.NeighError.Name(), probe.ShowOnly)
	}
	// The route lookups' rows all begin with "route": the node's routing, to whoever
	// reads them (the kernel's drops on the node name them as the state of that place).
	for _, r := range s.Rules {
		add("route-rule/"+r.Key(), r.Value(), probe.Exact)
	}
	for f, e := range s.RuleErrors {
		add("route-rule-error/"+f, e.Name(), probe.ShowOnly)
	}
	for _, r := range s.Routes {
		k := "route/" + r.Key()
		if p, err := netip.ParsePrefix(r.Dst); err == nil && p.Bits() < p.Addr().BitLen() {
			// A range holding the pod (Calico's blackhole of the node's block, a bridge's
			// subnet) is the node's: another node has another.
			k = strings.Replace(k, p.Addr().String()+"/", podRange+"/", 1)
		}
		add(k, r.Value(), probe.Exact)
	}
	for f, e := range s.RouteErrors {
		add("route-error/"+f, e.Name(), probe.Exact)
	}
	if s.Truncated {
		add("route-truncated", fmt.Sprint(s.RoutesTotal), probe.ShowOnly)
	}
	if nf := s.Netfilter; nf != nil {
		if nf.Error != nil {
			add("netfilter", "unreadable: "+nf.Error.Name(), probe.Exact)
		}
		byChain := map[string][]string{}
		dispatch := map[string]bool{}
		for _, r := range nf.Rules {
			if k, v, ok := felixDispatch(r, veth); ok {
				// Which dispatch chain holds the rule and the interface it names are the
				// veth's name's doing; where it sends the pod's packets is not.
				byChain[k] = append(byChain[k], v)
				dispatch[k] = true
				continue
			}
			chain := endpointChain.ReplaceAllString(r.Chain, "${1}<pod-endpoint>")
			if d := dispatchChain.ReplaceAllString(chain, "${1}"); d != chain || dispatchChain.MatchString(chain) {
				chain = d
				dispatch["netfilter/"+r.Table+"/"+chain] = true
			}
			k := "netfilter/" + r.Table + "/" + chain
			v := r.Action + " (" + strings.Join(r.Mentions, ",") + ")"
			if r.Words != "" {
				v = typedValue(r.Words)
			}
			byChain[k] = append(byChain[k], v)
		}
		for k, v := range byChain {
			if dispatch[k] {
				// The dispatch tree's depth to the pod's chain is the veth name's doing.
				v = slices.Compact(sorted(v))
			}
			add(k, strings.Join(sorted(v), "; "), probe.Exact)
		}
	}
	felixFacts(s.Felix, add)
	if ct := s.Conntrack; ct != nil {
		add("conntrack/entries", fmt.Sprint(ct.Count), probe.ShowOnly)
		if ct.TableMax > 0 {
			add("conntrack/table", fmt.Sprintf("%d/%d", ct.TableCount, ct.TableMax), probe.ShowOnly)
		}
		if ct.Error != nil {
			add("conntrack/error", ct.Error.Name(), probe.ShowOnly)
		}
	}
	return out
}

// sepWord: kube-proxy's per-endpoint chain inside a rule's words.
var sepWord = regexp.MustCompile(`\bKUBE-SEP-[A-Z2-7]{16}\b`)

// commentWord: a comment match in iptables' words; a comment names, it decides nothing
// (kube-proxy's Service name, Felix's rule ID), and two pods behind two Services differ
// in it by nature.
var commentWord = regexp.MustCompile(` -m comment --comment ("[^"]*"|\S+)`)

// typedValue is a rule's words as a row's value: the comments left out, the pod's
// endpoint chain by role.
func typedValue(w string) string {
	w = commentWord.ReplaceAllString(w, "")
	return sepWord.ReplaceAllString(w, "KUBE-SEP-<pod-endpoint>")
}

// felixDispatch reads a rule of Felix's that dispatches by the pod's interface name
// alone (`-i caliXXXX -g cali-fw-caliXXXX` in cali-from-wl-dispatch or one of its
// leaves, `-o … -g cali-tw-…`, `-i … -g cali-sm-…`): one fact per table and chain it
// enters, named by role, the pod's own chain as cali-fw-<pod-veth>. A dispatch to any
// other chain (another pod's) keeps that chain's name, and so differs.
func felixDispatch(r Rule, veth string) (key, value string, ok bool) {
	if !strings.HasPrefix(r.Chain, "cali-") || r.Target == "" || len(r.Mentions) != 1 || r.Mentions[0] != "veth" || veth == "" {
		return "", "", false
	}
	target := r.Target
	if strings.HasSuffix(target, "-"+veth) && strings.HasPrefix(target, "cali-") {
		target = strings.TrimSuffix(target, veth) + PodVeth
	}
	return "felix-dispatch/" + r.Table + "/" + target, strings.ToLower(r.Action), true
}

func familyOf(ip string) string {
	if strings.Contains(ip, ":") {
		return "ipv6"
	}
	return "ipv4"
}

// neighValue is what a neighbour entry makes of the pod's packets: the MAC they are sent
// to (the diff writes the pod's own as <self-mac>), or that the node has none. Whether a
// resolved entry is REACHABLE, STALE or PERMANENT changes nothing of where packets go and
// comes and goes with traffic: the state is a row of its own, shown only. NOARP entries
// are never checked, so they are named.
func neighValue(n Neighbour) string {
	switch {
	case strings.Contains(n.State, "FAILED"):
		return "FAILED"
	case strings.Contains(n.State, "INCOMPLETE"), n.LLAddr == "":
		return "unresolved (" + n.State + ")"
	case strings.Contains(n.State, "NOARP"):
		return "lladdr " + n.LLAddr + " NOARP"
	}
	return "lladdr " + n.LLAddr
}

func routeGetValue(g RouteGet) string {
	if g.Route == nil {
		if g.Error != nil {
			return "error " + g.Error.Name()
		}
		return "no answer"
	}
	r := g.Route
	p := []string{r.Type, "table " + r.Table}
	if r.Gateway != "" {
		p = append(p, "via "+r.Gateway)
	}
	if r.Dev != "" {
		p = append(p, "dev "+r.Dev)
	}
	if r.Src != "" {
		// The node's own address towards the pod: every node has its own.
		p = append(p, "src <node-ip>")
	}
	if r.MTU != 0 {
		p = append(p, fmt.Sprintf("mtu %d", r.MTU))
	}
	return strings.Join(p, " ")
}

// normaliser replaces the pod's IPs and its veth's name where they stand as whole words,
// so 10.0.0.5 does not eat into 10.0.0.50 nor cali1 into cali12.
func normaliser(ips []string, veth string) func(string) string {
	type pair struct{ from, to string }
	var pairs []pair
	for _, ip := range ips {
		pairs = append(pairs, pair{ip, SelfIP})
	}
	if veth != "" {
		pairs = append(pairs, pair{veth, PodVeth})
	}
	// Longest first, so one IP that is a prefix of another does not win.
	sort.Slice(pairs, func(i, j int) bool { return len(pairs[i].from) > len(pairs[j].from) })
	return func(s string) string {
		for _, p := range pairs {
			s = replaceWord(s, p.from, p.to)
		}
		return s
	}
}

func replaceWord(s, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, from)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(from)
		if (i == 0 || !wordByte(s[i-1])) && (end == len(s) || !wordByte(s[end])) {
			b.WriteString(s[:i])
			b.WriteString(to)
		} else {
			b.WriteString(s[:end])
		}
		s = s[end:]
	}
}

// wordByte: characters that continue an address or an interface name.
func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == ':' || c == '_' || c == '-'
}

func sorted(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

// selectsAny: a rule without a `to` (or "all") selects every destination; one with a
// prefix those holding a pod IP.
func selectsAny(to string, ips []netip.Addr) bool {
	if to == "" || to == "all" {
		return true
	}
	p, err := netip.ParsePrefix(to)
	if err != nil {
		a, aerr := netip.ParseAddr(to)
		if aerr != nil {
			return false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	for _, ip := range ips {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
