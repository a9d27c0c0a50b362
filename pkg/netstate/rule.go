package netstate

import (
	"fmt"
	"strings"
)

// Rule is one policy routing rule as `ip rule` prints it.
type Rule struct {
	Family   string `json:"family"` // "ipv4" or "ipv6"
	Priority int    `json:"priority"`
	Not      bool   `json:"not,omitempty"`
	From     string `json:"from"` // "all" or a prefix
	To       string `json:"to,omitempty"`
	Tos      int    `json:"tos,omitempty"`
	Fwmark   string `json:"fwmark,omitempty"` // "0x1" or "0x1/0xff"
	Iif      string `json:"iif,omitempty"`
	Oif      string `json:"oif,omitempty"`
	IPProto  string `json:"ipproto,omitempty"`
	Sport    string `json:"sport,omitempty"` // "53" or "1000-2000"
	Dport    string `json:"dport,omitempty"`
	UIDRange string `json:"uidrange,omitempty"`
	L3mdev   bool   `json:"l3mdev,omitempty"`
	TunID    uint64 `json:"tunId,omitempty"`
	Realms   uint32 `json:"realms,omitempty"`
	// Action is lookup, goto, nop, blackhole, unreachable or prohibit.
	Action string `json:"action"`
	Table  string `json:"table,omitempty"`
	Goto   int    `json:"goto,omitempty"`
	// Suppress* are nil when unset: 0 is a meaningful prefix length (suppress defaults).
	SuppressPrefixlen *int `json:"suppressPrefixlen,omitempty"`
	SuppressIfgroup   *int `json:"suppressIfgroup,omitempty"`
	// Protocol says who installed the rule (kernel, boot, static, ...).
	Protocol string `json:"protocol,omitempty"`
}

// Selector renders what the rule matches, in ip(8)'s words and order.
func (r Rule) Selector() string {
	var p []string
	if r.Not {
		p = append(p, "not")
	}
	p = append(p, "from "+r.From)
	add := func(k, v string) {
		if v != "" {
			p = append(p, k+" "+v)
		}
	}
	add("to", r.To)
	if r.Tos != 0 {
		add("tos", fmt.Sprintf("%#x", r.Tos))
	}
	add("fwmark", r.Fwmark)
	add("iif", r.Iif)
	add("oif", r.Oif)
	if r.TunID != 0 {
		add("tun_id", fmt.Sprint(r.TunID))
	}
	add("ipproto", r.IPProto)
	add("sport", r.Sport)
	add("dport", r.Dport)
	add("uidrange", r.UIDRange)
	if r.L3mdev {
		p = append(p, "l3mdev")
	}
	return strings.Join(p, " ")
}

// Key lines the rule up across subjects: family, priority and selector.
func (r Rule) Key() string {
	return fmt.Sprintf("%s/%d %s", r.Family, r.Priority, r.Selector())
}

// Value is what the rule does.
func (r Rule) Value() string {
	var s string
	switch r.Action {
	case "lookup":
		s = "lookup " + r.Table
		if r.L3mdev && r.Table == "" {
			s = "lookup [l3mdev-table]"
		}
	case "goto":
		s = fmt.Sprintf("goto %d", r.Goto)
	default:
		s = r.Action
	}
	if r.SuppressPrefixlen != nil {
		s += fmt.Sprintf(" suppress_prefixlength %d", *r.SuppressPrefixlen)
	}
	if r.SuppressIfgroup != nil {
		s += fmt.Sprintf(" suppress_ifgroup %d", *r.SuppressIfgroup)
	}
	if r.Realms != 0 {
		s += fmt.Sprintf(" realms %#x", r.Realms)
	}
	return s
}

// IsDefault: the rules every fresh namespace has (local, main, default lookups).
func (r Rule) IsDefault() bool {
	if r.Selector() != "from all" || r.Action != "lookup" {
		return false
	}
	switch {
	case r.Priority == 0 && r.Table == "local",
		r.Priority == 32766 && r.Table == "main",
		r.Priority == 32767 && r.Table == "default" && r.Family == "ipv4":
		return true
	}
	return false
}
