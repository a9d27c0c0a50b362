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

// route: the node's way back to the pod. The kernel's answer for the pod's address
// (route-get) and the route rows that hold it are one fact, the route back: one finding
// per pod whose answer does not leave by its own veth, resting on all of those rows.
func route(c *contract.Comparison) []contract.Finding {
	back := rows(c, func(k string) bool {
		return strings.HasPrefix(k, "route-get/") || strings.HasPrefix(k, "route/") && strings.Contains(k, SelfIP)
	})
	if len(back) == 0 {
		return nil
	}
	var keys []string
	for _, r := range back {
		keys = append(keys, r.ID())
	}
	var out []contract.Finding
	for i, name := range c.Subjects {
		got, ok := routeBack(c, back, i)
		if ok {
			continue
		}
		var others []string
		for j, other := range c.Subjects {
			if w, ok := routeBack(c, back, j); ok && j != i {
				others = append(others, other+": "+w)
			}
		}
		if only := ownRoutes(c, back, i); only != "" {
			got += ", by " + only
		}
		msg := fmt.Sprintf("%s's node routes its address %s: replies to %s never reach its veth", name, got, name)
		if len(others) > 0 {
			msg = fmt.Sprintf("%s's node routes its address %s (%s): replies to %s never reach its veth", name, got, strings.Join(others, ", "), name)
		}
		out = append(out, contract.Finding{Severity: contract.Critical, Subject: name, Keys: keys, Message: msg})
	}
	if len(out) == 0 {
		// Every pod's answer leaves by its veth, yet the routes differ: name the rows.
		for _, r := range back {
			out = append(out, contract.Finding{Severity: contract.Medium, Keys: []string{r.ID()},
				Message: fmt.Sprintf("the node's route %s differs (%s)", strings.TrimPrefix(r.Key, "route/"), grouped(c, r))})
		}
	}
	return out
}

// ownRoutes are the node's routes to the pod that subject i has and the others do not,
// as `ip route` prints them, the pod's address written out.
func ownRoutes(c *contract.Comparison, back []contract.Row, i int) string {
	var out []string
	for _, r := range back {
		k, ok := strings.CutPrefix(r.Key, "route/")
		if !ok || !r.Present(i) {
			continue
		}
		others := false
		for j := range c.Subjects {
			if j != i && r.Present(j) && r.Values[j] == r.Values[i] {
				others = true
			}
		}
		if others {
			continue
		}
		parts := strings.SplitN(k, "/", 4) // family/table/type/dst...
		if len(parts) != 4 {
			continue
		}
		line := parts[3]
		if parts[2] != "unicast" {
			line = parts[2] + " " + line
		}
		if parts[1] != "main" {
			line += " table " + parts[1]
		}
		if i < len(c.Identities) {
			for _, s := range c.Identities[i].IPs {
				if a, ok := contract.ParseIdentityIP(s); ok && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
					line = strings.ReplaceAll(line, SelfIP, a.String())
					break
				}
			}
		}
		out = append(out, "`ip route` "+line)
	}
	return strings.Join(out, ", ")
}

// routeBack is subject i's route back in words, and whether it leaves by the pod's veth.
func routeBack(c *contract.Comparison, back []contract.Row, i int) (string, bool) {
	for _, r := range back {
		if strings.HasPrefix(r.Key, "route-get/") && r.Present(i) {
			v := r.Values[i]
			ok := strings.Contains(v, "dev "+PodVeth)
			if errno, isErr := strings.CutPrefix(v, "error "); isErr {
				return "nowhere (ip route get: " + errno + ")", false
			}
			w := strings.NewReplacer("unicast table main ", "", " src <node-ip>", "", " table main", "", "unicast ", "").Replace(v)
			if w == "unicast" {
				w = "locally"
			}
			return w, ok
		}
	}
	return "nowhere (no answer)", false
}

func netfilterRules(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, "netfilter/") }) {
		chain := strings.TrimPrefix(r.Key, "netfilter/")
		// The subject whose rules there end in a verdict the others' do not: its node
		// drops (or rejects) its packets in that chain.
		verdict := func(i int) string {
			if !r.Present(i) {
				return ""
			}
			l := strings.ToLower(r.Values[i])
			switch {
			case strings.Contains(l, "reject"):
				return "rejects"
			case strings.Contains(l, "drop"):
				return "drops"
			}
			return ""
		}
		found := false
		for i, name := range c.Subjects {
			v := verdict(i)
			if v == "" {
				continue
			}
			alone := true
			for j := range c.Subjects {
				if j != i && verdict(j) == v {
					alone = false
				}
			}
			if !alone {
				continue
			}
			found = true
			out = append(out, contract.Finding{Severity: contract.Critical, Subject: name, Keys: []string{r.ID()},
				Message: fmt.Sprintf("%s's node %s its packets in %s: a rule there names %s only (%s)", name, v, chain, name, grouped(c, r))})
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
