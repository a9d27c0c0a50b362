package netfilter

import (
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// MaxChains caps the chains listed per report (a kube-proxy node has thousands; a pod a few).
const MaxChains = 200

// NftTable is one nftables table with per-action rule counts.
type NftTable struct {
	Family string `json:"family"`
	Name   string `json:"name"`
	Chains int    `json:"chains"`
	Rules  int    `json:"rules"`
	// Actions counts rules by what they end in: drop, reject, accept, jump, goto, return,
	// queue, dnat, snat, masquerade, redirect, tproxy, log, counter, or an xt target name
	// (iptables-nft rules carry "REJECT", "DNAT" … as xt targets).
	Actions map[string]int `json:"actions,omitempty"`
}

// NftChain is a chain; base chains have a hook, a priority and a policy.
type NftChain struct {
	Table    string        `json:"table"` // family/name
	Name     string        `json:"name"`
	Hook     string        `json:"hook,omitempty"`
	Type     string        `json:"type,omitempty"`
	Priority *int32        `json:"priority,omitempty"`
	Policy   string        `json:"policy,omitempty"`
	Rules    int           `json:"rules"`
	Error    *report.Error `json:"error,omitempty"`
}

// Nft is the nftables ruleset as seen over netlink.
type Nft struct {
	// Error is the reason the ruleset could not be listed: EPERM without CAP_NET_ADMIN is
	// the normal case inside a pod.
	Error     *report.Error `json:"error,omitempty"`
	Tables    []NftTable    `json:"tables"`
	Chains    []NftChain    `json:"chains"`
	Truncated bool          `json:"truncated,omitempty"`
	// Rules are the rules of every chain (up to MaxRules), in nft's words, so that a
	// finding can name the rule that rejects a connect.
	Rules []NftRule `json:"rules,omitempty"`
}

// MaxRules caps the rules listed per report.
const MaxRules = 200

// NftRule is one rule: its chain ("inet/filter/output"), the chain's hook, what it
// matches and what it does.
type NftRule struct {
	Chain   string `json:"chain"`
	Hook    string `json:"hook,omitempty"`
	Match   string `json:"match"`
	Verdict string `json:"verdict"`
	// Syntax is "iptables" where Match and Verdict are iptables-save's words (a rule of
	// an iptables-nft table: "-p tcp -m tcp --dport 80", "-j ACCEPT"); "" for nft's.
	Syntax string `json:"syntax,omitempty"`
}

// SyntaxIptables marks a rule described in iptables-save's words.
const SyntaxIptables = "iptables"

// SaveLine is the rule as iptables-save prints it ("-A OUTPUT -p tcp … -j REJECT …"),
// for a rule in iptables' words; "" otherwise.
func (r NftRule) SaveLine() string {
	if r.Syntax != SyntaxIptables {
		return ""
	}
	parts := []string{"-A", r.Chain[strings.LastIndexByte(r.Chain, '/')+1:]}
	for _, p := range []string{r.Match, r.Verdict} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}
