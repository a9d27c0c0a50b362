package pod

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

func sections(c *contract.Comparison) []*Section {
	out := make([]*Section, len(c.Reports))
	for i, r := range c.Reports {
		var s Section
		if ok, err := r.Section(SectionName, &s); ok && err == nil {
			out[i] = &s
		}
	}
	return out
}

// policyRule: a NetworkPolicy that selects some subjects and not others is context: where
// it decides a probe that fails in one subject only, the diagnosis names it as the cause
// through the verdict on that probe's path (policy.go); a policy that changes no probe's
// outcome is no cause.
func policyRule(c *contract.Comparison) []contract.Finding {
	secs := sections(c)
	byPolicy := map[string][]int{} // "name|type" -> subjects selected
	for i, s := range secs {
		if s == nil || s.NetworkPoliciesError != "" {
			continue
		}
		for _, p := range s.NetworkPolicies {
			for _, t := range p.Types {
				byPolicy[p.Name+"|"+t] = append(byPolicy[p.Name+"|"+t], i)
			}
		}
	}
	var out []contract.Finding
	for key, idx := range byPolicy {
		if len(idx) == countKnown(secs) {
			continue
		}
		name, typ := splitPair(key)
		out = append(out, contract.Finding{
			Kind:     contract.Context,
			Severity: contract.Low,
			Message:  fmt.Sprintf("NetworkPolicy %s selects only %s for %s", name, names(c.Subjects, idx), strings.ToLower(typ)),
			Keys:     []string{SectionName + "/networkPolicies/" + name},
		})
	}
	return out
}

func hostNetworkRule(c *contract.Comparison) []contract.Finding {
	secs := sections(c)
	var host []int
	for i, s := range secs {
		if s != nil && s.HostNetwork {
			host = append(host, i)
		}
	}
	if len(host) == 0 || len(host) == countKnown(secs) {
		return nil
	}
	return []contract.Finding{{
		Severity: contract.High,
		Message:  fmt.Sprintf("%s uses the node's network namespace (hostNetwork) and the others do not: routes, addresses, netfilter and DNS differ by design", names(c.Subjects, host)),
		Keys:     []string{SectionName + "/hostNetwork"},
	}}
}

func dnsPolicyRule(c *contract.Comparison) []contract.Finding {
	secs := sections(c)
	vals := map[string][]int{}
	for i, s := range secs {
		if s != nil {
			vals[s.DNSPolicy] = append(vals[s.DNSPolicy], i)
		}
	}
	if len(vals) < 2 {
		return nil
	}
	var parts []string
	for v, idx := range vals {
		parts = append(parts, fmt.Sprintf("%s uses %s", names(c.Subjects, idx), v))
	}
	sort.Strings(parts)
	return []contract.Finding{{
		Severity: contract.Medium,
		Message:  "dnsPolicy differs: " + strings.Join(parts, ", ") + " (different resolv.conf, nameservers and search domains)",
		Keys:     []string{SectionName + "/dnsPolicy"},
	}}
}

func countKnown(secs []*Section) int {
	n := 0
	for _, s := range secs {
		if s != nil && s.NetworkPoliciesError == "" {
			n++
		}
	}
	return n
}

func names(subjects []string, idx []int) string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = subjects[j]
	}
	return strings.Join(out, ", ")
}

func splitPair(s string) (string, string) {
	a, b, _ := strings.Cut(s, "|")
	return a, b
}
