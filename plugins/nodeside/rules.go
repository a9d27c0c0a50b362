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

func rows(c *contract.Comparison, match func(key string) bool) []contract.Row {
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

func route(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, "route-get/") }) {
		out = append(out, contract.Finding{Severity: contract.Critical, Keys: []string{r.ID()},
			Message: fmt.Sprintf("the node routes to the pod's IP differently (%s): traffic to a pod whose route does not leave by its own veth never reaches it", grouped(c, r))})
	}
	// A host route to the pod itself (<self>/32 dev <pod-veth>) present for one pod only.
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, "route/") && strings.Contains(k, SelfIP) }) {
		if !r.AnyMissing() {
			continue
		}
		out = append(out, contract.Finding{Severity: contract.Critical, Keys: []string{r.ID()},
			Message: fmt.Sprintf("the node's route %s exists for some pods only (%s)", strings.TrimPrefix(r.Key, "route/"), grouped(c, r))})
	}
	return out
}

func netfilterRules(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, "netfilter/") }) {
		sev, what := contract.Medium, "netfilter rules that name one pod only"
		for _, v := range r.Values {
			l := strings.ToLower(v)
			if strings.Contains(l, "drop") || strings.Contains(l, "reject") {
				sev, what = contract.Critical, "a DROP/REJECT rule names one pod only"
			}
		}
		out = append(out, contract.Finding{Severity: sev, Keys: []string{r.ID()},
			Message: fmt.Sprintf("on the node, %s in %s (%s)", what, strings.TrimPrefix(r.Key, "netfilter/"), grouped(c, r))})
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
