package nodeside

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// The pod section's rows this plugin reads (docs/sections/pod.md; pinned by
// TestPodRowsPinned): the policy a Felix chain implements, the policies that deny a
// direction, and the pod's node.
const (
	podSection     = "pod"
	podFelixChain  = "felix-chain/"   // + chain name = "NetworkPolicy shop/x (egress)"
	podDenies      = "policy-denies/" // + direction + "/" + the denying policies
	podNodeRow     = "node"
	felixRowPrefix = "felix/"
)

// felixGroup is the prefix of a family's and direction's rows: "felix/ipv4/egress".
func felixGroup(key string) (prefix, family, dir string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(key, felixRowPrefix), "/", 3)
	if !strings.HasPrefix(key, felixRowPrefix) || len(parts) < 3 {
		return "", "", "", false
	}
	return felixRowPrefix + parts[0] + "/" + parts[1], parts[0], parts[1], true
}

// felixVerdict: where Felix's chains of one pod differ from the others' on the way of a
// direction, one finding per pod and direction, saying what its chain dropped (the
// rules' counters) and the policy chains it jumps to, named by their policies.
func felixVerdict(c *contract.Comparison) []contract.Finding {
	groups := map[string][]contract.Row{}
	var order []string
	for _, r := range rows(c, func(k string) bool { return strings.HasPrefix(k, felixRowPrefix) }) {
		g, _, _, ok := felixGroup(r.Key)
		if !ok {
			continue
		}
		if _, seen := groups[g]; !seen {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	if len(order) == 0 {
		return nil
	}
	secs := contract.DecodeSections(c, Name, Decode)
	var out []contract.Finding
	for _, g := range order {
		rs := groups[g]
		var keys []string
		for _, r := range rs {
			keys = append(keys, r.ID())
		}
		for i, name := range c.Subjects {
			if i >= len(secs) || secs[i] == nil {
				continue
			}
			drops, policies := felixOwn(c, rs, i)
			if len(drops) == 0 && !policies {
				continue
			}
			v, ok := secs[i].Felix.view(g)
			if !ok {
				continue
			}
			f := contract.Finding{Severity: contract.Medium, Subject: name, Keys: keys}
			where := "Felix's chain " + v.Chain
			if node := podValue(c, podNodeRow, i); node != "" {
				where += " on node " + node
			}
			var said []string
			for _, d := range v.Drops {
				if !slices.Contains(drops, "drop/"+d.Where) {
					continue
				}
				f.Severity = contract.Critical
				switch {
				case d.Tier != "":
					said = append(said, fmt.Sprintf("has dropped %d packets at the end of tier %s since Felix programmed it, where none of its policies passed them (%s)",
						d.Packets, d.Tier, namedChains(c, secs[i].Felix, i, v, v.tierPolicies(d.Tier))))
				case d.Where == "no profile matched":
					said = append(said, fmt.Sprintf("has dropped %d packets where no profile matched (%s)", d.Packets, v.profiles()))
				case d.Chain != v.Chain:
					said = append(said, fmt.Sprintf("has dropped %d packets in its policy chain %s", d.Packets, namedChains(c, secs[i].Felix, i, v, []string{d.Chain})))
				default:
					said = append(said, fmt.Sprintf("has dropped %d packets at its drop rule %s", d.Packets, d.Where))
				}
			}
			if len(said) == 0 {
				// Policies that select the pod and dropped nothing of it: context, as the
				// pod section's policy that selects one pod only.
				f.Kind, f.Severity = contract.Context, contract.Low
				w := "jumps to the policy chains " + namedChains(c, secs[i].Felix, i, v, v.allPolicies())
				if len(v.Drops) == 0 {
					w += " and dropped nothing"
				}
				said = append(said, w)
			}
			var others []string
			for j, other := range c.Subjects {
				if j == i || j >= len(secs) || secs[j] == nil {
					continue
				}
				ov, ok := secs[j].Felix.view(g)
				if !ok {
					continue
				}
				var n uint64
				for _, d := range ov.Drops {
					n += d.Packets
				}
				w := fmt.Sprintf("%s's chain: policies %s, %d packets dropped", other, ov.policies(), n)
				others = append(others, w)
			}
			f.Message = fmt.Sprintf("%s (%s's %s %s) %s", where, name, v.Family, v.Direction, strings.Join(said, "; "))
			if len(others) > 0 {
				f.Message += " (" + strings.Join(others, "; ") + ")"
			}
			out = append(out, f)
		}
	}
	return out
}

// felixOwn is what of a group's differing rows subject i has that no other subject has:
// the drops that moved in i alone ("drop/end of tier default"), and whether its policy
// chains are some (not none) and differ from every other subject's.
func felixOwn(c *contract.Comparison, rs []contract.Row, i int) (drops []string, policies bool) {
	for _, r := range rs {
		_, rest, _ := strings.Cut(r.Key, "/drop/")
		rest = "drop/" + rest
		switch {
		case strings.HasSuffix(r.Key, "/policies"):
			if !r.Present(i) || r.Values[i] == "none" {
				continue
			}
			alone := true
			for j := range c.Subjects {
				if j != i && r.Present(j) && r.Values[j] == r.Values[i] {
					alone = false
				}
			}
			policies = policies || alone
		case strings.Contains(r.Key, "/drop/"):
			if !r.Present(i) || r.Values[i] == "0" {
				continue
			}
			alone := true
			for j := range c.Subjects {
				if j != i && r.Present(j) && r.Values[j] != "0" {
					alone = false
				}
			}
			if alone {
				drops = append(drops, rest)
			}
		}
	}
	return drops, policies
}

// view is the endpoint chain of a row group ("felix/ipv4/egress").
func (f *Felix) view(group string) (felixView, bool) {
	for _, v := range f.views() {
		if felixRowPrefix+v.Family+"/"+v.Direction == group {
			return v, true
		}
	}
	return felixView{}, false
}

func (v felixView) tierPolicies(tier string) []string {
	for _, t := range v.Tiers {
		if t.Name == tier {
			return t.Policies
		}
	}
	return nil
}

func (v felixView) allPolicies() []string {
	var out []string
	for _, t := range v.Tiers {
		out = append(out, t.Policies...)
	}
	return out
}

// namedChains words policy chains with the policies they implement: the name the pod
// section gives each (Felix's hash of the policy's name, computed for every policy it
// knows), else Felix's own comment in the chain.
func namedChains(c *contract.Comparison, f *Felix, i int, v felixView, chains []string) string {
	if len(chains) == 0 {
		return "none"
	}
	dir, table := v.Direction, "ip/filter"
	if v.Family == "ipv6" {
		table = "ip6/filter"
	}
	var out []string
	for _, ch := range chains {
		name := podValue(c, podFelixChain+ch, i)
		if name == "" {
			if p := policyComment(f, table, ch); p != "" {
				name = "Felix's policy " + p + " (" + dir + ")"
			}
		}
		if name == "" {
			out = append(out, ch)
			continue
		}
		out = append(out, ch+" = "+name)
	}
	return strings.Join(out, ", ")
}

// podValue is subject i's value of a pod section row ("" without one).
func podValue(c *contract.Comparison, key string, i int) string {
	if r, ok := c.Row(podSection, key); ok && r.Present(i) {
		return r.Values[i]
	}
	return ""
}

// dependsOn: a difference in a pod's Felix chains follows from a policy: where the pod
// section finds that a policy implemented by one of the chains the endpoint chain jumps
// to denies traffic in that direction, the chain's difference (its jumps, what it
// dropped) is that denial as Felix enforces it, folded under the policy's cause.
func dependsOn(c *contract.Comparison, r contract.Row, i int) contract.Dependency {
	g, _, dir, ok := felixGroup(r.Key)
	if !ok {
		return contract.Dependency{}
	}
	pr, ok := c.Row(Name, g+"/policies")
	if !ok || !pr.Present(i) {
		return contract.Dependency{}
	}
	var refs []string
	for _, ch := range policyChains(pr.Values[i]) {
		if n := podValue(c, podFelixChain+ch, i); n != "" {
			refs = append(refs, strings.TrimSuffix(n, " ("+dir+")"))
		}
	}
	var dep contract.Dependency
	for _, d := range c.Rows {
		rest, ok := strings.CutPrefix(d.Key, podDenies+dir+"/")
		if d.Section != podSection || !ok || d.Equal || !d.Present(i) {
			continue
		}
		for _, ref := range strings.Split(rest, ", ") {
			ref, _, _ = strings.Cut(ref, " rule ")
			if slices.Contains(refs, ref) {
				dep.Rows = append(dep.Rows, d.ID())
				break
			}
		}
	}
	return dep
}

// policyChains reads a policies value ("tier default: cali-po-_a, cali-po-_b; tier x: …").
func policyChains(v string) []string {
	if v == "none" {
		return nil
	}
	var out []string
	for _, tier := range strings.Split(v, "; ") {
		if _, rest, ok := strings.Cut(tier, ": "); ok {
			tier = rest
		}
		out = append(out, strings.Split(tier, ", ")...)
	}
	return out
}
