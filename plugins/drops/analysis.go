package drops

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// analysis: a drop is evidence with a place. Its rows lie on the path of the probe whose
// flow they are on (Path), a failing probe carries its drops in its detail (Annotate), the
// rule names each place's drops as one cause together with the state facts of that place
// that can produce that reason (dropRule, so the diagnosis links those facts to the same
// cause), and a timeout with no drop on the watched path says where the loss is not
// (Infer).
var analysis = contract.Analysis{Role: contract.State, Path: probePath, Annotate: annotate, Infer: inferBeyond, Describe: describe, Hop: hop, Witness: true}

// hop: a drop is drawn where the kernel dropped it, the node's namespace ("drop/node/…") or the pod's.
func hop(r contract.Row) contract.Hop {
	if strings.HasPrefix(r.Key, "drop/node/") {
		return contract.HopNode
	}
	return contract.HopPodKernel
}

// sectionOf is subject i's drops section as the prober wrote it (addresses un-normalised).
func sectionOf(c *contract.Comparison, i int) *Section {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return nil
	}
	var s Section
	if ok, err := c.Reports[i].Section(Name, &s); !ok || err != nil {
		return nil
	}
	return &s
}

// rowKey is the key of d's row as subject i's facts were normalised.
func rowKey(c *contract.Comparison, i int, d Drop) string {
	return "drop/" + c.NormaliseFor(i, d.Key())
}

func splitHost(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.Index(s, "]"); end > 0 {
			return s[1:end], strings.TrimPrefix(s[end+1:], ":")
		}
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		return h, p
	}
	return s, ""
}

func protoMatches(probe, drop string) bool {
	switch probe {
	case "icmp":
		return drop == "icmp" || drop == "icmpv6"
	case "":
		return false
	}
	return probe == drop
}

// onFlow tells whether drop d of subject i is on probe p's flow: the same transport, the
// remote end the probe's target (as subject i normalised it, or the address it resolved
// to) and the probe's port on the side that serves: the remote's for the subject's own
// probe, its own for a peer's probe of it (a reply path, see diff's reverse).
func onFlow(c *contract.Comparison, p *contract.Probe, i int, d Drop) bool {
	if !protoMatches(p.Proto, d.Proto) {
		return false
	}
	hosts := []string{target.Host(p.Target)}
	if i < len(p.Addr) && p.Addr[i].IsValid() {
		hosts = append(hosts, c.NormaliseFor(i, p.Addr[i].String()))
	}
	rhost, rport := splitHost(c.NormaliseFor(i, d.Remote))
	_, lport := splitHost(c.NormaliseFor(i, d.Local))
	if !slices.Contains(hosts, rhost) {
		return false
	}
	if p.Port == 0 {
		return true
	}
	want := strconv.Itoa(p.Port)
	return rport == want || rport == "" && lport == want
}

// flowDrops are subject i's drops on p's flow that are not the TCP state machine's own.
func flowDrops(c *contract.Comparison, p *contract.Probe, i int) []Drop {
	s := sectionOf(c, i)
	if s == nil {
		return nil
	}
	var out []Drop
	for _, d := range s.Drops {
		if !d.Normal() && d.Count > 0 && onFlow(c, p, i, d) {
			out = append(out, d)
		}
	}
	return out
}

func probePath(c *contract.Comparison, p *contract.Probe, i int) []string {
	var out []string
	for _, d := range flowDrops(c, p, i) {
		out = append(out, rowKey(c, i, d))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// annotate adds to each failing subject's detail of p the drops on its flow: the symptom
// then says what the kernel did with its packets.
func annotate(c *contract.Comparison, p *contract.Probe) {
	// A moved counter (ICMP unreachables sent, OutNoRoutes) is explained by the causes of
	// the sections that move it; a drop's cause names their facts, so it is one of them.
	if len(p.Domains) > 0 && !slices.Contains(p.Domains, Name) {
		for _, d := range []string{"netfilter", "routes", "rules", "neighbours"} {
			if slices.Contains(p.Domains, d) {
				p.Domains = append(slices.Clone(p.Domains), Name)
				break
			}
		}
	}
	cloned := false
	for i, st := range p.Status {
		if st == contract.OK || st == contract.Unknown || i >= len(p.Detail) {
			continue
		}
		ds := flowDrops(c, p, i)
		if len(ds) == 0 {
			continue
		}
		if !cloned {
			p.Detail, cloned = slices.Clone(p.Detail), true
		}
		var parts []string
		for _, d := range ds {
			parts = append(parts, fmt.Sprintf("%d %s in the %s's namespace (%s)", d.Count, c.NormaliseFor(i, dirWord(d)), d.Netns, d.Place()))
		}
		p.Detail[i] += "; the kernel dropped " + strings.Join(parts, ", ")
	}
}

func dirWord(d Drop) string {
	if d.Dir == "in" {
		return "from " + d.Remote
	}
	return "to " + d.Remote
}

// inferBeyond: a probe that timed out in subject i while the kernel was watched in the
// pod's namespace and its node's, with no drop on its flow in either, lost its packets
// beyond the node: the kernel's own word for it. One finding per subject (the message
// names no probe, so the diagnosis keeps one). With only the pod's namespace watched the
// diagnosis's own "left the pod" finding says the rest.
func inferBeyond(c *contract.Comparison, p *contract.Probe, i int, _ []int) *contract.Finding {
	if p.Status[i] != contract.FailRemote || i >= len(p.Detail) || !strings.Contains(p.Detail[i], "ETIMEDOUT") && !strings.Contains(p.Detail[i], "timeout") {
		return nil
	}
	s := sectionOf(c, i)
	if s == nil || s.Watch == "" || len(flowDrops(c, p, i)) > 0 {
		return nil
	}
	pod, node := false, false
	for _, n := range s.Namespaces {
		pod = pod || n.Role == "pod"
		node = node || n.Role == "node"
	}
	if !pod || !node {
		// Only the node's watched (--node-side from a container without the BPF rights):
		// the pod's own namespace may have dropped them.
		return nil
	}
	who := c.Subjects[i]
	msg := who + "'s packets are lost beyond its node: its probes time out, and the kernel dropped none of them in its namespace or its node's"
	return &contract.Finding{Severity: contract.High, Rule: Name + "/beyond", Message: msg, Keys: []string{Name + "/watch"}, Place: "beyond-node",
		Detail: "both namespaces were watched for the whole probe window; what lies past the node (its next hop, the network, the far end) was not"}
}

// describe words a drop row no rule named (the rule names every differing one; this is
// for a comparison run without the rule).
func describe(c *contract.Comparison, r contract.Row, i, j int) string {
	s := sectionOf(c, i)
	if s == nil {
		return ""
	}
	for _, d := range s.Drops {
		if rowKey(c, i, d) == r.Key {
			w, count := placeWords(c, i, []Drop{d}, verdictOf(c, i, stateFacts(c, i, d)))
			return w + " (" + count + ")"
		}
	}
	return ""
}

// effectiveReason is the drop's reason, or for a kernel that gives none (before 5.17)
// what its stack shows: a drop inside netfilter's hook is its verdict.
func effectiveReason(d Drop) string {
	if d.Reason == "" && d.Hook != "" {
		return "NETFILTER_DROP"
	}
	return d.Reason
}

// reasonWords says what a drop reason means, in words a person acts on.
var reasonWords = map[string]string{
	"NETFILTER_DROP":          "a netfilter rule dropped them",
	"IP_RPFILTER":             "the reverse-path filter (rp_filter) dropped them: the route back to their source leaves by another interface",
	"IP_INNOROUTES":           "no route for them",
	"IP_OUTNOROUTES":          "no route out for them",
	"IP_INADDRERRORS":         "their destination address is not valid here",
	"NEIGH_FAILED":            "the next hop never answered ARP/neighbour discovery",
	"NEIGH_QUEUEFULL":         "too many packets waited for a next hop that did not answer",
	"NEIGH_DEAD":              "the next hop's neighbour entry was removed while packets waited",
	"NEIGH_CREATEFAIL":        "no neighbour entry could be made for the next hop",
	"TC_EGRESS":               "a tc filter dropped them on egress",
	"TC_INGRESS":              "a tc filter dropped them on ingress",
	"TC_DROP":                 "a tc action dropped them",
	"QDISC_DROP":              "the queueing discipline dropped them",
	"QDISC_OVERLIMIT":         "the queueing discipline was over its limit",
	"BPF_CGROUP_EGRESS":       "a cgroup BPF program refused them on egress",
	"BPF_CGROUP_INGRESS":      "a cgroup BPF program refused them on ingress",
	"SOCKET_FILTER":           "a socket filter dropped them",
	"XDP":                     "an XDP program dropped them",
	"OTHERHOST":               "they were not addressed to this host",
	"PKT_TOO_BIG":             "they were larger than the path allows",
	"DEV_READY":               "the device was not up",
	"IPV6DISABLED":            "IPv6 is disabled on the interface",
	"IP_NOPROTO":              "no handler for their protocol",
	"TCP_LISTEN_OVERFLOW":     "the listening socket's accept queue was full",
	"SOCKET_RCVBUFF":          "the socket's receive buffer was full",
	"FULL_RING":               "the device's ring was full",
	"UNICAST_IN_L2_MULTICAST": "a unicast packet in a link-layer multicast frame",
}

func reasonPhrase(d Drop) string {
	if w := reasonWords[d.Reason]; w != "" {
		return w
	}
	if errorRoute(d) {
		return "their route is an error route (a blackhole, unreachable or prohibit route: the kernel frees them at " + d.Location + ")"
	}
	if d.Reason == "" {
		return "dropped (this kernel gives no reason)"
	}
	return "dropped (" + d.Reason + ")"
}

func placePhrase(d Drop) string {
	p := d.Reason
	if p == "" {
		p = "no reason"
	}
	p += " at " + d.Location
	if d.Hook != "" {
		p += ", netfilter " + d.Hook + " hook"
	}
	return p
}

// placeWords words the drops of one place in subject i: the sentence (who, which flows,
// where, what dropped them) and its detail (how many packets, the kernel's reason, code
// location and hook).
func placeWords(c *contract.Comparison, i int, ds []Drop, verdict string) (string, string) {
	d := ds[0]
	var total int64
	var flows []string
	for _, x := range ds {
		total += x.Count
		// Addresses as subject i's rows have them (<self>, <peer>); the subjects' own
		// names stay: a pod's name is often its hostname, a placeholder in its rows.
		if f := c.NormaliseFor(i, dirWord(x)); !slices.Contains(flows, f) {
			flows = append(flows, f)
		}
	}
	if len(flows) > 2 {
		flows = append(flows[:1], fmt.Sprintf("%d more", len(flows)-1))
	}
	who := c.Subjects[i]
	where := "in " + who + "'s own network namespace"
	if d.Netns == "node" {
		where = "on " + who + "'s node"
	}
	detail := fmt.Sprintf("%s %s (%s)", contract.Count(int(total), "packet", "packets"), strings.Join(flows, " and "), placePhrase(d))
	if effectiveReason(d) == "NETFILTER_DROP" {
		if verdict == "REJECT" {
			detail += "; the namespace answered with ICMP unreachables"
		}
		return fmt.Sprintf("a netfilter %s %s dropped its packets", verdict, where), detail
	}
	return fmt.Sprintf("the kernel dropped %s's packets %s: %s", who, where, reasonPhrase(d)), detail
}

// dropRule names, per subject, each place (namespace, reason, location, hook) where the
// kernel dropped packets of watched flows that no other subject's kernel dropped, as one
// cause, with the state facts of that place that can produce that reason and differ.
func dropRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for i := range c.Subjects {
		s := sectionOf(c, i)
		if s == nil {
			continue
		}
		type place struct{ netns, reason, loc, hook string }
		byPlace := map[place][]Drop{}
		var order []place
		for _, d := range s.Drops {
			if d.Normal() || d.Count == 0 || strings.HasPrefix(c.NormaliseFor(i, d.Local), contract.PeerIP) {
				// A packet of the other subject's flow crossed this namespace only because
				// the link flooded it: it says nothing of this subject.
				continue
			}
			r, ok := c.Row(Name, rowKey(c, i, d))
			if !ok || r.Equal || !onlyIn(r, i) {
				continue
			}
			pl := place{d.Netns, d.Reason, d.Location, d.Hook}
			if _, ok := byPlace[pl]; !ok {
				order = append(order, pl)
			}
			byPlace[pl] = append(byPlace[pl], d)
		}
		// Places whose drops the same state facts produce are one cause (a blackhole
		// route back drops the pod's packets at Calico's reverse-path rule and its
		// peer's replies at ip_error): the first place speaks, the others follow it.
		factsOf := map[place][]contract.Row{}
		bySet := map[string][]place{}
		for _, pl := range order {
			factsOf[pl] = stateFacts(c, i, byPlace[pl][0])
			if len(factsOf[pl]) > 0 {
				set := factSet(factsOf[pl])
				bySet[set] = append(bySet[set], pl)
			}
		}
		for _, pl := range order {
			ds := byPlace[pl]
			facts := factsOf[pl]
			var also []place
			if len(facts) > 0 {
				group := bySet[factSet(facts)]
				if group[0] != pl {
					continue // said with the group's first place
				}
				also = group[1:]
			}
			keys := []string{}
			for _, d := range ds {
				keys = append(keys, Name+"/"+rowKey(c, i, d))
			}
			kernel, count := placeWords(c, i, ds, verdictOf(c, i, facts))
			for _, ap := range also {
				var total int64
				for _, d := range byPlace[ap] {
					total += d.Count
					keys = append(keys, Name+"/"+rowKey(c, i, d))
				}
				count += fmt.Sprintf("; and %d more there: %s (%s)", total, reasonPhrase(byPlace[ap][0]), placePhrase(byPlace[ap][0]))
			}
			// The state of the place is what a person changes: it is the headline, the
			// kernel's word how we know (the detail). The diagnosis gives the headline the
			// words of the plugin that read the state, where one names it.
			msg, detail := kernel, strings.TrimPrefix(unreadHint(c, i, ds[0])+"; "+count, "; ")
			j := other(c, i)
			for n, r := range facts {
				keys = append(keys, r.ID())
				switch {
				case n == 0:
					msg, detail = factWords(c, r, i, j), kernel+" ("+count+")"
				case n < 3:
					detail += "; also " + factWords(c, r, i, j)
				}
			}
			keys = append(keys, summaryKeys(c, i, facts)...)
			out = append(out, contract.Finding{Severity: contract.Critical, Subject: c.Subjects[i], Message: msg, Detail: detail, Keys: keys})
		}
	}
	return out
}

// factSet identifies a set of state rows.
func factSet(rows []contract.Row) string {
	ids := make([]string, len(rows))
	for n, r := range rows {
		ids[n] = r.ID()
	}
	slices.Sort(ids)
	return strings.Join(ids, "\x00")
}

// onlyIn: subject i counted the drop and no other subject did.
func onlyIn(r contract.Row, i int) bool {
	if !r.Present(i) || r.Values[i] == "0" {
		return false
	}
	for j := range r.Values {
		if j != i && r.Present(j) && r.Values[j] != "0" {
			return false
		}
	}
	return true
}

func other(c *contract.Comparison, i int) int {
	if i == 0 && len(c.Subjects) > 1 {
		return 1
	}
	return 0
}

// unreadHint says what would show the state of a place the report does not hold.
func unreadHint(c *contract.Comparison, i int, d Drop) string {
	switch {
	case d.Netns == "node" && !hasSection(c, i, "nodeside"):
		return "the report holds no state of the node (--node-side reads its routes, sysctls and netfilter rules)"
	case d.Netns == "pod" && d.Reason == "NETFILTER_DROP":
		if r, ok := c.Row("netfilter", "nft/error"); ok && r.Present(i) && r.Values[i] != "" {
			return "its netfilter rules could not be read (" + r.Values[i] + "): rerun with --profile netadmin to see which rule"
		}
	}
	return ""
}

// summaryKeys are the rows that count what a netfilter fact is one of (the number of
// rules, tables, REJECT rules, the chains they sit in): the netfilter plugin's path names them for the same
// probe, and as keys of this finding they lead the diagnosis to this one cause.
func summaryKeys(c *contract.Comparison, i int, facts []contract.Row) []string {
	var out []string
	for _, f := range facts {
		if f.Section != "netfilter" || !strings.HasPrefix(f.Key, "nft/rule/") {
			continue
		}
		for _, r := range c.Section("netfilter") {
			if !r.Equal && deviates(r, i) && (r.Key == "nft/rules" || r.Key == "nft/tables" ||
				strings.HasPrefix(r.Key, "nft/action/") || strings.HasPrefix(r.Key, "nft/table/") || strings.HasPrefix(r.Key, "nft/chain/")) {
				out = append(out, r.ID())
			}
		}
		break
	}
	return out
}

// factWords words a state row as the place's fact: a netfilter rule by its chain, match
// and verdict, anything else as the diff words a differing row.
func factWords(c *contract.Comparison, r contract.Row, i, j int) string {
	if r.Section == "netfilter" && strings.HasPrefix(r.Key, "nft/rule/") {
		chain, match, _ := strings.Cut(strings.TrimPrefix(r.Key, "nft/rule/"), ": ")
		switch {
		case !r.Present(j):
			return fmt.Sprintf("only %s has an nftables rule in %s: %s → %s; %s has none", c.Subjects[i], chain, match, r.Values[i], c.Subjects[j])
		case !r.Present(i):
			return fmt.Sprintf("%s lacks the nftables rule in %s: %s → %s that %s has", c.Subjects[i], chain, match, r.Values[j], c.Subjects[j])
		}
		return fmt.Sprintf("the nftables rule in %s: %s does %s in %s (%s: %s)", chain, match, r.Values[i], c.Subjects[i], c.Subjects[j], r.Values[j])
	}
	return contract.DescribeRow(c, r, i, j)
}

// verdictOf is the netfilter verdict that dropped subject i's packets: the one of the
// rule or policy found there, else REJECT where the namespace answered them with ICMP
// unreachables that no other subject sent, else DROP.
func verdictOf(c *contract.Comparison, i int, facts []contract.Row) string {
	for _, r := range facts {
		if !r.Present(i) {
			continue
		}
		switch v := strings.ToLower(r.Values[i]); {
		case strings.Contains(v, "reject"):
			return "REJECT"
		case strings.Contains(v, "drop"):
			return "DROP"
		}
	}
	if rejected(c, i) {
		return "REJECT"
	}
	return "DROP"
}

// rejected tells whether subject i's namespace answered its own packets with ICMP
// unreachables while no other subject's did (resets are sent for other reasons too) (the counters section's rows): a
// netfilter verdict that drops and answers is a REJECT.
func rejected(c *contract.Comparison, i int) bool {
	for _, k := range []string{"snmp/Icmp/OutDestUnreachs", "snmp6/Icmp6OutDestUnreachs"} {
		if r, ok := c.Row("counters", k); ok && !r.Equal && r.Present(i) && r.Values[i] != "0" && onlyIn(r, i) {
			return true
		}
	}
	return false
}

func hasSection(c *contract.Comparison, i int, name string) bool {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return false
	}
	_, ok := c.Reports[i].Sections[name]
	return ok
}

// stateFacts are the rows of the drop's place that can produce its reason and that
// differ in subject i from every other subject: the place's netfilter rules at that hook
// for a netfilter verdict, its rp_filter sysctls and routes for the reverse-path filter,
// its routes and policy rules for no route, its neighbour entries for a next hop that
// never answered, the cgroup's programs for a cgroup BPF refusal.
func stateFacts(c *contract.Comparison, i int, d Drop) []contract.Row {
	type where struct {
		section string
		match   func(key string) bool
		// fallback: looked at only when the wheres before it found nothing.
		fallback bool
	}
	prefix := func(ps ...string) func(string) bool {
		return func(k string) bool {
			for _, p := range ps {
				if strings.HasPrefix(k, p) {
					return true
				}
			}
			return false
		}
	}
	contains := func(s string) func(string) bool { return func(k string) bool { return strings.Contains(k, s) } }
	every := func(string) bool { return true }
	hook := func(k string) bool {
		return d.Hook == "" || strings.Contains(strings.ToLower(k), d.Hook)
	}
	var ws []where
	reason := effectiveReason(d)
	switch {
	case d.Netns == "pod" && reason == "NETFILTER_DROP":
		ws = []where{{"netfilter", func(k string) bool { return prefix("nft/rule/", "nft/chain/", "iptables/")(k) && hook(k) }, false},
			{"netfilter", prefix("nft/rule/", "nft/chain/", "iptables/"), true}}
	case d.Netns == "node" && reason == "NETFILTER_DROP":
		ws = []where{{"nodeside", func(k string) bool { return strings.HasPrefix(k, "netfilter/") && hook(k) }, false},
			{"nodeside", prefix("netfilter"), true}}
		if reversePathHook(d.Hook) {
			// The same rules, another verdict: a reverse-path match (iptables rpfilter,
			// nft fib saddr; Calico's anti-spoofing in raw PREROUTING) reads the route
			// back to the pod, which then differs.
			ws = append(ws, where{"nodeside", prefix("route"), true})
		}
	case d.Netns == "pod" && reason == "IP_RPFILTER":
		ws = []where{{"sysctls", contains("rp_filter"), false}, {"routes", every, false}}
	case d.Netns == "node" && reason == "IP_RPFILTER":
		ws = []where{{"nodeside", contains("rp_filter"), false}, {"nodeside", prefix("route"), false}}
	case d.Netns == "pod" && (strings.Contains(reason, "NOROUTES") || reason == "IP_INADDRERRORS" || errorRoute(d)):
		ws = []where{{"routes", every, false}, {"rules", every, false}}
	case d.Netns == "node" && (strings.Contains(reason, "NOROUTES") || reason == "IP_INADDRERRORS" || errorRoute(d)):
		ws = []where{{"nodeside", prefix("route"), false}}
	case d.Netns == "pod" && strings.HasPrefix(reason, "NEIGH_"):
		ws = []where{{"neighbours", every, false}, {"interfaces", contains("flags"), false}}
	case d.Netns == "node" && strings.HasPrefix(reason, "NEIGH_"):
		ws = []where{{"nodeside", func(k string) bool { return strings.HasPrefix(k, "veth") || strings.Contains(k, "proxy_arp") }, false}}
	case d.Netns == "pod" && strings.HasPrefix(reason, "BPF_CGROUP_"):
		dir := "egress"
		if strings.HasSuffix(reason, "INGRESS") {
			dir = "ingress"
		}
		ws = []where{{"cgroupbpf", prefix("prog/" + dir + "/"), false}}
	}
	var out []contract.Row
	seen := map[string]bool{}
	for _, w := range ws {
		if w.fallback && len(out) > 0 {
			continue
		}
		for _, r := range c.Section(w.section) {
			if r.Equal || r.Kind != probe.Exact || seen[r.ID()] || !w.match(r.Key) || !deviates(r, i) {
				continue
			}
			if reason == "NETFILTER_DROP" && !w.fallback && !dropsOrRejects(r, i) {
				continue // an accepting rule or policy did not drop them
			}
			seen[r.ID()] = true
			out = append(out, r)
		}
	}
	return out
}

// reversePathHook: a netfilter hook where a rule may match on the route back to a
// packet's source (rpfilter is valid in PREROUTING, nft's fib saddr also in INPUT and
// FORWARD); "" where the kernel gave no stack to read it from.
func reversePathHook(h string) bool {
	return h == "" || h == "prerouting" || h == "input" || h == "forward"
}

// errorRoute: the kernel freed the packet where a route lookup gave an error route
// (blackhole, unreachable, prohibit: ip_error frees those forwarded or delivered with no
// reason of their own, IPv6's ip6_pkt_discard and dst_discard alike).
func errorRoute(d Drop) bool {
	if d.Reason != "" && d.Reason != "NOT_SPECIFIED" {
		return false
	}
	switch d.Location {
	case "ip_error", "ip6_pkt_discard", "ip6_pkt_discard_out", "ip6_pkt_prohibit", "ip6_pkt_prohibit_out", "dst_discard", "dst_discard_out":
		return true
	}
	return false
}

// dropsOrRejects: the row's verdict in subject i (or, for a rule it lacks, in the others)
// is one that drops: DROP, REJECT, a drop policy.
func dropsOrRejects(r contract.Row, i int) bool {
	for j, v := range r.Values {
		if (j == i || !r.Present(i)) && r.Present(j) {
			l := strings.ToLower(v)
			if strings.Contains(l, "drop") || strings.Contains(l, "reject") {
				return true
			}
		}
	}
	return false
}

// deviates: subject i's value is no other subject's.
func deviates(r contract.Row, i int) bool {
	for j := range r.Values {
		if j != i && r.Present(i) == r.Present(j) && r.Values[i] == r.Values[j] {
			return false
		}
	}
	return true
}
