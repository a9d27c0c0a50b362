package nodeside

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// ConntrackPressure is the share of nf_conntrack_max above which new connections are
// about to be dropped ("nf_conntrack: table full, dropping packet").
const ConntrackPressure = 0.9

// rows are the differing node-side rows, when every subject's node side was read: a pod
// whose report has no node side (not asked for, or its node pod failed) is not a pod
// whose node lacks those facts.
func rows(c *contract.Comparison, match func(key string) bool) []contract.Row {
	for _, rep := range c.Reports {
		if rep == nil {
			return nil
		}
		if raw, ok := rep.Sections[Name]; !ok || len(raw) == 0 || string(raw) == "null" {
			return nil
		}
	}
	var out []contract.Row
	for _, r := range c.Rows {
		if r.Section == Name && !r.Equal && match(r.Key) {
			out = append(out, r)
		}
	}
	return out
}

// values says which subject holds which value: "1 in pod-a; 0 in pod-b".
func grouped(c *contract.Comparison, r contract.Row) string {
	by := map[string][]string{}
	for i, v := range r.Values {
		if i < len(r.Missing) && r.Missing[i] {
			v = "nothing"
		}
		if i < len(c.Subjects) {
			by[v] = append(by[v], c.Subjects[i])
		}
	}
	return contract.Grouped(by)
}

func proxyARP(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool { return k == "sysctl/net/ipv4/conf/"+PodVeth+"/proxy_arp" }) {
		out = append(out, contract.Finding{Severity: contract.High, Keys: []string{r.ID()},
			Message: fmt.Sprintf("proxy_arp on the node's end of the pod's veth differs (%s): with it off, the node does not answer the pod's ARP for its gateway (a /32 pod with a link-local gateway, as with Calico, then has no working next hop)", grouped(c, r))})
	}
	return out
}

func rpFilter(c *contract.Comparison) []contract.Finding {
	rs := rows(c, func(k string) bool {
		return strings.HasSuffix(k, "/rp_filter") && strings.HasPrefix(k, "sysctl/net/ipv4/conf/")
	})
	if len(rs) == 0 {
		return nil
	}
	var keys, parts []string
	for _, r := range rs {
		keys = append(keys, r.ID())
		parts = append(parts, strings.TrimPrefix(r.Key, "sysctl/net/ipv4/conf/")+": "+grouped(c, r))
	}
	return []contract.Finding{{Severity: contract.High, Keys: keys,
		Message: fmt.Sprintf("reverse-path filtering on the node differs for the pods' veths (%s): the higher of all and the veth's value applies, and strict mode (1) drops the pod's packets whenever the route back to their source leaves by another interface", strings.Join(parts, "; "))}}
}

// route: the node's way back to the pod. Three lookups decide it, each a row: the
// kernel's route for the node's own packets to the pod's address (route-get), its route
// for a reply arriving from beyond the node (reply-route: `ip route get POD from GW iif
// UPLINK`, where policy rules on the incoming interface or the source apply), and the
// neighbour entry that gives the MAC the packets are sent to (neigh). A pod is named
// only where its own lookup goes wrong and another pod's goes right: what is equal in
// every pod, or wrong in every pod, blames none (a healthy pod is never blamed for its
// twin's fault). The finding rests on the lookup's row and on the node's routes and
// policy rules that only that pod has, which it names as typed.
func route(c *contract.Comparison) []contract.Finding {
	back := rows(c, func(k string) bool {
		return isWayBackKey(k) || strings.HasPrefix(k, "route/") && strings.Contains(k, SelfIP) || strings.HasPrefix(k, "route-rule/")
	})
	if len(back) == 0 {
		return nil
	}
	var out []contract.Finding
	for i, name := range c.Subjects {
		bad := wayBackFaults(c, back, i)
		if len(bad) == 0 {
			continue
		}
		keys := []string{}
		for _, r := range bad {
			keys = append(keys, r.ID())
		}
		own := ownFacts(c, back, i)
		for _, r := range own {
			keys = append(keys, r.ID())
		}
		msg, detail := wayBackWords(c, bad[0], own, i)
		f := contract.Finding{Severity: contract.Critical, Subject: name, Keys: keys, Message: msg,
			Detail: detail + "; replies to " + name + " never reach its eth0 as they do in the other pods"}
		out = append(out, f)
	}
	if len(out) == 0 {
		// Every pod's way back reaches its veth, yet the routes differ: name the rows.
		for _, r := range back {
			if !strings.HasPrefix(r.Key, "route/") {
				continue
			}
			out = append(out, contract.Finding{Severity: contract.Medium, Keys: []string{r.ID()},
				Message: fmt.Sprintf("the node's route %s differs (%s)", strings.TrimPrefix(r.Key, "route/"), grouped(c, r))})
		}
	}
	return out
}

// isWayBackKey: the rows of the three lookups of the way back.
func isWayBackKey(k string) bool {
	switch {
	case strings.HasPrefix(k, "route-get/"):
		return true
	case strings.HasPrefix(k, "route-reply/"):
		return !strings.HasSuffix(k, "/from")
	case strings.HasPrefix(k, "neigh/"):
		return strings.HasSuffix(k, "/"+PodVeth)
	}
	return false
}

// wayBackGood: a route reaches the pod when it leaves by the pod's veth; a neighbour
// entry when it holds the pod's own MAC (the diff's <self-mac>).
func wayBackGood(key, v string) bool {
	if strings.HasPrefix(key, "neigh/") {
		return strings.HasPrefix(v, "lladdr "+contract.SelfMAC)
	}
	return strings.Contains(v, "dev "+PodVeth)
}

// neighSet: an entry someone or something set (a MAC, NOARP), as opposed to one the
// node could not resolve (FAILED, INCOMPLETE): that one follows from the pod not
// answering ARP, whose cause is the pod's.
func neighSet(v string) bool { return strings.HasPrefix(v, "lladdr ") }

// wayBackFaults are subject i's differing way-back lookups that go wrong where another
// subject's go right, the node's own lookup first, then the reply's, then the neighbour.
func wayBackFaults(c *contract.Comparison, back []contract.Row, i int) []contract.Row {
	var out []contract.Row
	for _, prefix := range []string{"route-get/", "route-reply/", "neigh/"} {
		for _, r := range back {
			if !strings.HasPrefix(r.Key, prefix) || !isWayBackKey(r.Key) || !r.Present(i) || wayBackGood(r.Key, r.Values[i]) {
				continue
			}
			if prefix == "neigh/" && !neighSet(r.Values[i]) {
				continue
			}
			for j := range c.Subjects {
				if j != i && r.Present(j) && wayBackGood(r.Key, r.Values[j]) {
					out = append(out, r)
					break
				}
			}
		}
	}
	return out
}

// ownFacts are the node's routes to the pod and its policy rules that subject i has and
// no other subject has with the same value.
func ownFacts(c *contract.Comparison, back []contract.Row, i int) []contract.Row {
	var out []contract.Row
	for _, r := range back {
		if !strings.HasPrefix(r.Key, "route/") && !strings.HasPrefix(r.Key, "route-rule/") || !r.Present(i) {
			continue
		}
		shared := false
		for j := range c.Subjects {
			if j != i && r.Present(j) && r.Values[j] == r.Values[i] {
				shared = true
			}
		}
		if !shared {
			out = append(out, r)
		}
	}
	return out
}

// wayBackWords words a fault of the way back: the node's fact that makes it so, as `ip
// rule`, `ip route` and `ip neigh` print it, and what it does to the pod's replies; the
// lookup as typed and the other pods' answers are the detail.
func wayBackWords(c *contract.Comparison, r contract.Row, own []contract.Row, i int) (msg, detail string) {
	name := c.Subjects[i]
	ip := subjectAddr(c, i)
	secs := contract.DecodeSections(c, Name, Decode)
	unselfOf := func(j int) func(string) string { return unselfer(c, j) }
	unself := unselfOf(i)
	var sec *Section
	if i < len(secs) {
		sec = secs[i]
	}
	var by []string
	for _, o := range own {
		if w := typedFact(o, i); w != "" {
			by = append(by, unself(w))
		}
	}
	var others []string
	for j, other := range c.Subjects {
		if j != i && r.Present(j) && wayBackGood(r.Key, r.Values[j]) {
			others = append(others, other+": "+unselfOf(j)(lookupWords(r.Key, r.Values[j])))
		}
	}
	got := lookupWords(r.Key, r.Values[i])
	switch {
	case strings.HasPrefix(r.Key, "neigh/"):
		entry := strings.TrimPrefix(r.Values[i], "lladdr ")
		if sec != nil {
			for _, n := range sec.Neighbours {
				if sec.Veth != nil && n.Dev == sec.Veth.Name {
					entry = n.IP + " dev " + n.Dev + " lladdr " + n.LLAddr + " " + n.State
				}
			}
		}
		return fmt.Sprintf("%s's node has `%s`, not %s's MAC: %s's eth0 drops every frame the node sends it", name, entry, name, name),
			"the node's neighbour entry for the pod on its veth, as `ip neigh` prints it (" + strings.Join(others, ", ") + ")"
	case strings.HasPrefix(r.Key, "route-reply/"):
		lookup := "ip route get " + contract.OrNone(ip)
		if sec != nil {
			for _, g := range sec.ReplyRoute {
				if g.Iif != "" && (ip == "" || g.IP == ip) {
					lookup = "ip route get " + g.IP + " from " + g.From + " iif " + g.Iif
					break
				}
			}
		}
		detail = "`" + lookup + "` on the node answers " + got + " (" + strings.Join(others, ", ") + ")"
		if len(by) > 0 {
			return fmt.Sprintf("%s's node has %s: replies to %s from beyond the node are routed %s", name, strings.Join(by, ", "), name, routed(got)), detail
		}
		return fmt.Sprintf("%s's node routes replies to %s from beyond the node %s", name, name, routed(got)), detail
	}
	detail = "`ip route get " + contract.OrNone(ip) + "` on the node answers " + got + " (" + strings.Join(others, ", ") + ")"
	if len(by) > 0 {
		return fmt.Sprintf("%s's node has %s: its packets to %s never reach its veth", name, strings.Join(by, ", "), name), detail
	}
	return fmt.Sprintf("%s's node routes its address %s: its packets to %s never reach its veth", name, routed(got), name), detail
}

// routed is a lookup's answer as the headline says it: "nowhere", "out of cali-c",
// "locally", "via 10.0.0.1 dev eth0"; the errno or table that made it nowhere is the
// detail's.
func routed(got string) string {
	if strings.HasPrefix(got, "nowhere") {
		return "nowhere"
	}
	if dev, ok := strings.CutPrefix(got, "dev "); ok && !strings.Contains(dev, " ") {
		return "out of " + dev
	}
	return got
}

// subjectAddr is subject i's own address, written out where the facts say <self>: the
// first the node side was asked about, else its identity's.
func subjectAddr(c *contract.Comparison, i int) string {
	if secs := contract.DecodeSections(c, Name, Decode); i < len(secs) && secs[i] != nil && len(secs[i].PodIPs) > 0 {
		return secs[i].PodIPs[0]
	}
	if i < len(c.Identities) {
		for _, s := range c.Identities[i].IPs {
			if a, ok := contract.ParseIdentityIP(s); ok && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
				return a.String()
			}
		}
	}
	return ""
}

// typedFact is a route or rule row as `ip route` or `ip rule` prints it, the command
// that prints it named after it.
func typedFact(r contract.Row, i int) string {
	if k, ok := strings.CutPrefix(r.Key, "route-rule/"); ok {
		// family/priority selector → "priority: selector action"
		_, rest, _ := strings.Cut(k, "/")
		prio, sel, _ := strings.Cut(rest, " ")
		return "`" + prio + ": " + sel + " " + r.Values[i] + "` (ip rule)"
	}
	k, ok := strings.CutPrefix(r.Key, "route/")
	if !ok {
		return ""
	}
	parts := strings.SplitN(k, "/", 4) // family/table/type/dst...
	if len(parts) != 4 {
		return ""
	}
	line := parts[3]
	if parts[2] != "unicast" {
		line = parts[2] + " " + line
	}
	if parts[1] != "main" {
		line += " table " + parts[1]
	}
	return "`" + line + "` (ip route)"
}

// lookupWords is a route lookup's answer in words: "dev cali-a", "nowhere (blackhole,
// table 100)", "nowhere (ip route get: ENETUNREACH)".
func lookupWords(key, v string) string {
	if strings.HasPrefix(key, "neigh/") {
		if strings.HasPrefix(v, "lladdr "+contract.SelfMAC) {
			return "its own MAC"
		}
		return v
	}
	if errno, isErr := strings.CutPrefix(v, "error "); isErr {
		return "nowhere (ip route get: " + errno + ")"
	}
	f := strings.Fields(v)
	if len(f) >= 3 && f[1] == "table" && f[0] != "unicast" && f[0] != "local" {
		return "nowhere (" + f[0] + ", table " + f[2] + ")"
	}
	w := strings.NewReplacer("unicast table main ", "", " src <node-ip>", "", " table main", "", "unicast ", "").Replace(v)
	if w == "unicast" || strings.HasPrefix(w, "local") {
		w = "locally"
	}
	return w
}

func netfilterRules(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, "netfilter/") }) {
		chain := strings.TrimPrefix(r.Key, "netfilter/")
		found := false
		for i, name := range c.Subjects {
			v, line := "", ""
			if r.Present(i) {
				v, line = verdictIn(r.Values[i])
			}
			if v == "" {
				continue
			}
			alone := true
			for j := range c.Subjects {
				if j != i && r.Present(j) {
					if w, _ := verdictIn(r.Values[j]); w == v {
						alone = false
					}
				}
			}
			if !alone {
				continue
			}
			found = true
			var others []string
			for j, other := range c.Subjects {
				if j == i {
					continue
				}
				if !r.Present(j) {
					others = append(others, other+" has no such rule")
				} else {
					others = append(others, other+": `"+unselfer(c, j)(r.Values[j])+"`")
				}
			}
			what := "a rule there names " + name + " only"
			if line != "" {
				what = "`" + unselfer(c, i)(line) + "`"
			}
			out = append(out, contract.Finding{Severity: contract.Critical, Subject: name, Keys: []string{r.ID()},
				Message: fmt.Sprintf("%s's node %s its packets in %s: %s (%s)", name, v, chain, what, strings.Join(others, "; "))})
		}
		if !found {
			out = append(out, contract.Finding{Severity: contract.Medium, Keys: []string{r.ID()},
				Message: fmt.Sprintf("on the node, the netfilter rules in %s that name the pods differ (%s)", chain, grouped(c, r))})
		}
	}
	for _, r := range rows(c, func(k string) bool { return k == "netfilter" }) {
		out = append(out, contract.Finding{Severity: contract.Low, Keys: []string{r.ID()},
			Message: fmt.Sprintf("the node's netfilter rules could not be read for every pod (%s): the node pod needs CAP_NET_ADMIN", grouped(c, r))})
	}
	return out
}

// verdictIn is what a chain's rules naming the pod end in, "drops" or "rejects" ("" for
// neither), and the rule that does: in a rule's words the target of -j (iptables) or a
// drop or reject statement (nft); in the words of an older report, its action.
func verdictIn(value string) (verdict, line string) {
	for _, l := range strings.Split(value, "; ") {
		f := strings.Fields(l)
		for k, w := range f {
			t := ""
			switch {
			case w == "-j" && k+1 < len(f):
				t = strings.ToLower(f[k+1])
			case len(f) > 0 && f[0] == "nft" && (w == "drop" || w == "reject"):
				t = w
			case k == 0 && f[0] != "nft" && f[0] != "iptables" && f[0] != "ip6tables":
				t = strings.ToLower(w) // "DROP (ip)", an older report's action
			}
			switch t {
			case "drop":
				if len(f) > 1 && (f[0] == "nft" || strings.HasPrefix(f[0], "ip")) {
					return "drops", l
				}
				return "drops", ""
			case "reject":
				if len(f) > 1 && (f[0] == "nft" || strings.HasPrefix(f[0], "ip")) {
					return "rejects", l
				}
				return "rejects", ""
			}
		}
	}
	return "", ""
}

// unselfer writes subject j's own address and veth out where its facts say <self> and
// <pod-veth>.
func unselfer(c *contract.Comparison, j int) func(string) string {
	secs := contract.DecodeSections(c, Name, Decode)
	return func(s string) string {
		if a := subjectAddr(c, j); a != "" {
			s = strings.ReplaceAll(s, SelfIP, a)
		}
		if j < len(secs) && secs[j] != nil && secs[j].Veth != nil {
			s = strings.ReplaceAll(s, PodVeth, secs[j].Veth.Name)
		}
		return s
	}
}

func vethRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool {
		return k == "veth" || k == "veth/mtu" || k == "veth/state" || k == "veth/master" || k == "veth/flags"
	}) {
		sev := contract.Medium
		if r.Key == "veth" || r.Key == "veth/state" {
			sev = contract.High
		}
		out = append(out, contract.Finding{Severity: sev, Keys: []string{r.ID()},
			Message: fmt.Sprintf("the node's end of the pod's veth differs in %s (%s)", strings.TrimPrefix(r.Key, "veth/"), grouped(c, r))})
	}
	return out
}

// conntrackPressure reads the sections: the table's fill is Info (it moves by itself),
// but a table near its max drops the new connections of whichever pod is unlucky.
func conntrackPressure(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for i, s := range contract.DecodeSections(c, Name, Decode) {
		if s == nil || s.Conntrack == nil || s.Conntrack.TableMax == 0 {
			continue
		}
		ct := s.Conntrack
		if float64(ct.TableCount) < ConntrackPressure*float64(ct.TableMax) {
			continue
		}
		out = append(out, contract.Finding{Severity: contract.High, Keys: []string{Name + "/conntrack/table"},
			Message: fmt.Sprintf("the conntrack table on the node of %s is %s%% full (%d of %d): new connections are dropped when it fills (%s has %d entries)",
				c.Subjects[i], strconv.Itoa(100*ct.TableCount/ct.TableMax), ct.TableCount, ct.TableMax, c.Subjects[i], ct.Count)})
	}
	return out
}
