package netstate

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// OpenRuleset opens an nftables netlink connection in the current network namespace and
// lists its tables and chains. The caller closes the connection with CloseLasting.
func OpenRuleset() (*nftables.Conn, []*nftables.Table, []*nftables.Chain, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open nftables netlink: %w", err)
	}
	tables, err := c.ListTables()
	if err != nil {
		c.CloseLasting()
		return nil, nil, nil, fmt.Errorf("list nftables tables: %w", err)
	}
	chains, err := c.ListChains()
	if err != nil {
		c.CloseLasting()
		return nil, nil, nil, fmt.Errorf("list nftables chains: %w", err)
	}
	return c, tables, chains, nil
}

// RuleAction names what a rule does, from its last deciding expression: a rule "ct state
// established accept" is "accept", "tcp dport 53 reject" is "reject", a rule with only a
// counter is "counter".
func RuleAction(exprs []expr.Any) string {
	action := "other"
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Reject:
			return "reject"
		case *expr.Verdict:
			return VerdictName(e.Kind)
		case *expr.Target:
			return e.Name // iptables-nft: REJECT, DNAT, MASQUERADE, …
		case *expr.NAT:
			if e.Type == expr.NATTypeDestNAT {
				return "dnat"
			}
			return "snat"
		case *expr.Masq:
			return "masquerade"
		case *expr.Redir:
			return "redirect"
		case *expr.TProxy:
			return "tproxy"
		case *expr.Queue:
			return "queue"
		case *expr.Log:
			action = "log"
		case *expr.Counter:
			if action == "other" {
				action = "counter"
			}
		}
	}
	return action
}

// TableKey names a table as nft lists it: "inet/filter", "ip/nat".
func TableKey(t *nftables.Table) string { return TableFamilyName(t.Family) + "/" + t.Name }

// TableFamilyName is nft's word for a table family ("inet", "ip", …).
func TableFamilyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return fmt.Sprintf("family-%d", f)
}

// VerdictName is nft's word for a verdict.
func VerdictName(k expr.VerdictKind) string {
	switch k {
	case expr.VerdictDrop:
		return "drop"
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictJump:
		return "jump"
	case expr.VerdictGoto:
		return "goto"
	case expr.VerdictReturn:
		return "return"
	case expr.VerdictQueue:
		return "queue"
	case expr.VerdictContinue:
		return "continue"
	}
	return fmt.Sprintf("verdict-%d", k)
}
