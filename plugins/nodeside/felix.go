package nodeside

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Felix (Calico's policy agent, iptables mode) filters a pod's traffic in two chains of
// its own on the node, named by the host end of its veth: cali-tw-<veth> ("to the
// workload": ingress) and cali-fw-<veth> ("from the workload": egress). They jump to a
// chain per policy selecting the pod (cali-pi-/cali-po-<id>, <id> a hash of the policy's
// name) and per profile (cali-pri-/cali-pro-<id>: Calico's per-namespace and
// per-service-account defaults), and end each tier of policies in a drop of what no
// policy passed. The section keeps those chains, their rules' verdicts, Felix's
// comments and the rules' packet counters.
const (
	FelixToPrefix   = "cali-tw-"
	FelixFromPrefix = "cali-fw-"
	// MaxFelixChains caps the chains read per pod (its two, and the policy and profile
	// chains they jump to); MaxFelixRules the rules kept of an endpoint chain (about 2 a
	// policy), MaxFelixPolicyRules of a policy or profile chain. About 115 bytes a rule: a
	// pod under a few policies takes 3 KB, the caps bound it near 85 KB.
	MaxFelixChains      = 32
	MaxFelixRules       = 128
	MaxFelixPolicyRules = 16
)

// Felix is Calico's chains for the pod: nil where Felix programs none for its veth.
type Felix struct {
	Chains    []FelixChain  `json:"chains"`
	Truncated bool          `json:"truncated,omitempty"`
	Error     *report.Error `json:"error,omitempty"`
}

// FelixChain is one of Felix's chains, in table family/name.
type FelixChain struct {
	Table     string      `json:"table"`
	Name      string      `json:"name"`
	Rules     []FelixRule `json:"rules"`
	Truncated bool        `json:"truncated,omitempty"`
}

// FelixRule is one rule of a Felix chain.
type FelixRule struct {
	// ID is Felix's rule ID (its "cali:<id>" comment); Comments are its other comments
	// ("End of tier default. Drop if no policies passed packet", "Policy
	// shop/knp.default.db-ingress ingress", "Profile kns.shop egress").
	ID       string   `json:"id,omitempty"`
	Comments []string `json:"comments,omitempty"`
	// Verdict is drop, accept, return, "jump CHAIN", "goto CHAIN", or what the rule
	// does instead (MARK for Felix's marks, counter for a rule that only counts).
	Verdict string `json:"verdict"`
	// Packets and Bytes are the rule's counter since Felix programmed the rule.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Target is the chain a jump or goto rule enters ("" for other rules).
func (r FelixRule) Target() string {
	if t, ok := strings.CutPrefix(r.Verdict, "jump "); ok {
		return t
	}
	t, _ := strings.CutPrefix(r.Verdict, "goto ")
	return t
}

// isFelixEndpointChain: the pod's own chains.
func isFelixEndpointChain(name string) bool {
	return strings.HasPrefix(name, FelixToPrefix) || strings.HasPrefix(name, FelixFromPrefix)
}

// isFelixPolicyChain: the policy and profile chains an endpoint chain jumps to.
func isFelixPolicyChain(name string) bool {
	for _, p := range []string{"cali-pi-", "cali-po-", "cali-pri-", "cali-pro-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// felixView is one endpoint chain of the pod read for the facts and rules: its
// direction, the policy chains of each tier in order, its profiles, and its drops.
type felixView struct {
	Family, Direction string // ipv4|ipv6, ingress|egress
	Chain             string // cali-tw-<veth>
	Tiers             []felixTier
	Profiles          []string // profile names, from the profile chains' comments
	Drops             []felixDrop
}

type felixTier struct {
	Name     string
	Policies []string // chain names
}

// felixDrop is a drop rule on the pod's way through its chains: at the end of a tier
// (what no policy of it passed), where no profile matched, in a policy chain (Calico's
// Deny), or elsewhere in the endpoint chain (the Nth drop: invalid packets, VXLAN/IPIP).
type felixDrop struct {
	Where   string // "end of tier default", "no profile matched", "cali-pi-…", "#2"
	Chain   string // the chain holding the rule
	Tier    string // the tier it ends, for an end-of-tier drop
	Packets uint64
}

// views reads the pod's endpoint chains out of the section, sorted by family and
// direction.
func (f *Felix) views() []felixView {
	if f == nil {
		return nil
	}
	chains := map[string]*FelixChain{}
	for i := range f.Chains {
		chains[f.Chains[i].Table+"/"+f.Chains[i].Name] = &f.Chains[i]
	}
	var out []felixView
	for i := range f.Chains {
		ch := &f.Chains[i]
		v := felixView{Chain: ch.Name, Family: "ipv4"}
		switch {
		case strings.HasPrefix(ch.Name, FelixToPrefix):
			v.Direction = "ingress"
		case strings.HasPrefix(ch.Name, FelixFromPrefix):
			v.Direction = "egress"
		default:
			continue
		}
		if strings.HasPrefix(ch.Table, "ip6/") {
			v.Family = "ipv6"
		}
		tier := ""
		nth := 0
		for _, r := range ch.Rules {
			for _, c := range r.Comments {
				if t, ok := strings.CutPrefix(c, "Start of tier "); ok {
					tier = t
					v.Tiers = append(v.Tiers, felixTier{Name: t})
				}
			}
			target := r.Target()
			switch {
			case strings.HasPrefix(target, "cali-pi-"), strings.HasPrefix(target, "cali-po-"):
				if len(v.Tiers) == 0 {
					v.Tiers = append(v.Tiers, felixTier{})
				}
				t := &v.Tiers[len(v.Tiers)-1]
				t.Policies = append(t.Policies, target)
				if pc := chains[ch.Table+"/"+target]; pc != nil {
					for _, pr := range pc.Rules {
						if pr.Verdict == "drop" && pr.Packets > 0 {
							v.Drops = append(v.Drops, felixDrop{Where: target, Chain: target, Packets: pr.Packets})
						}
					}
				}
			case strings.HasPrefix(target, "cali-pri-"), strings.HasPrefix(target, "cali-pro-"):
				name := target
				if pc := chains[ch.Table+"/"+target]; pc != nil {
					if n := profileName(pc); n != "" {
						name = n
					}
				}
				v.Profiles = append(v.Profiles, name)
			}
			if r.Verdict != "drop" {
				continue
			}
			nth++
			d := felixDrop{Where: fmt.Sprintf("#%d", nth), Chain: ch.Name, Packets: r.Packets}
			for _, c := range r.Comments {
				switch {
				case strings.HasPrefix(c, "End of tier "):
					d.Where, d.Tier = "end of tier "+tier, tier
				case strings.HasPrefix(c, "Drop if no profiles matched"):
					d.Where = "no profile matched"
				}
			}
			if d.Packets > 0 {
				v.Drops = append(v.Drops, d)
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Family != out[b].Family {
			return out[a].Family < out[b].Family
		}
		return out[a].Direction < out[b].Direction
	})
	return out
}

// profileName is the profile a cali-pri-/cali-pro- chain implements, from Felix's
// comment on its first rule ("Profile kns.shop ingress").
func profileName(c *FelixChain) string {
	for _, r := range c.Rules {
		for _, cm := range r.Comments {
			if rest, ok := strings.CutPrefix(cm, "Profile "); ok {
				name, _, _ := strings.Cut(rest, " ")
				return name
			}
		}
	}
	return ""
}

// policyComment is Felix's name of the policy a cali-pi-/cali-po- chain implements, from
// the comment on its first rule ("Policy shop/knp.default.db-ingress ingress"); a
// policy without rules has an empty chain and no comment.
func policyComment(f *Felix, table, chain string) string {
	for _, c := range f.Chains {
		if c.Table != table || c.Name != chain {
			continue
		}
		for _, r := range c.Rules {
			for _, cm := range r.Comments {
				if rest, ok := strings.CutPrefix(cm, "Policy "); ok {
					name, _, _ := strings.Cut(rest, " ")
					return name
				}
			}
		}
	}
	return ""
}

// felixPolicies words the tiers: "tier default: cali-po-_x, cali-po-_y", or "none".
func (v felixView) policies() string {
	var parts []string
	for _, t := range v.Tiers {
		if len(t.Policies) == 0 {
			continue
		}
		p := strings.Join(t.Policies, ", ")
		if t.Name != "" {
			p = "tier " + t.Name + ": " + p
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// profiles lists the pod's profiles with its own namespace as <namespace>: Felix makes
// one per namespace (kns.NS) and one per service account (ksa.NS.SA) for every pod, so
// twins in two namespaces line up.
func (v felixView) profiles() string {
	ns := ""
	for _, p := range v.Profiles {
		if n, ok := strings.CutPrefix(p, "kns."); ok {
			ns = n
		}
	}
	out := make([]string, len(v.Profiles))
	for i, p := range v.Profiles {
		if ns != "" {
			switch {
			case p == "kns."+ns:
				p = "kns.<namespace>"
			case strings.HasPrefix(p, "ksa."+ns+"."):
				p = "ksa.<namespace>." + strings.TrimPrefix(p, "ksa."+ns+".")
			}
		}
		out[i] = p
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// felixFacts: per family and direction, the policy chains the pod's endpoint chain
// jumps to (Felix's hashed names: equal for two pods the same policies select), its
// profiles, and each drop rule on its way that dropped packets since Felix programmed it
// (a counter: it differs where it moved in one pod and not in another; the drops that
// decide no policy are info).
func felixFacts(f *Felix, add func(k, v string, kind probe.FactKind)) {
	if f == nil {
		return
	}
	if f.Error != nil {
		add("felix/error", f.Error.Name(), probe.ShowOnly)
	}
	for _, v := range f.views() {
		k := "felix/" + v.Family + "/" + v.Direction
		add(k+"/policies", v.policies(), probe.Exact)
		add(k+"/profiles", v.profiles(), probe.Exact)
		for _, d := range v.Drops {
			kind := probe.Counter
			if strings.HasPrefix(d.Where, "#") {
				// The endpoint chain's other drops (conntrack INVALID, VXLAN or IPIP from the
				// pod) decide no policy: an INVALID drop follows from whatever broke a flow
				// (a reject or a lost reply on the node leaves the pod's retransmissions
				// without a conntrack entry), so it is shown, never a difference.
				kind = probe.ShowOnly
			}
			add(k+"/drop/"+d.Where, fmt.Sprint(d.Packets), kind)
		}
	}
}
