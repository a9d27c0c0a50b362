package process

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// envRule: a proxy set in one subject only sends its HTTP clients somewhere else
// entirely; a preload can wrap connect() itself.
func envRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	var other []string
	for _, r := range c.Rows {
		if r.Section != "process" || r.Equal {
			continue
		}
		name, isEnv := strings.CutPrefix(r.Key, "target/env/")
		lower := strings.ToLower(name)
		switch {
		case isEnv && strings.HasSuffix(lower, "_proxy") && lower != "no_proxy":
			out = append(out, contract.Finding{Severity: contract.High, Keys: []string{r.ID()},
				Message: setIn(c, r, name) + ": HTTP clients that honour it connect to the proxy instead of the destination"})
		case isEnv && lower == "no_proxy":
			out = append(out, contract.Finding{Severity: contract.Medium, Keys: []string{r.ID()},
				Message: setIn(c, r, name) + ": it decides which destinations bypass the proxy"})
		case isEnv && (name == "LD_PRELOAD" || name == "LD_LIBRARY_PATH" || name == "LD_AUDIT"):
			out = append(out, contract.Finding{Severity: contract.High, Keys: []string{r.ID()},
				Message: setIn(c, r, name) + ": a preloaded library can wrap socket calls such as connect()"})
		case r.Key == "target/ld.so.preload":
			out = append(out, contract.Finding{Severity: contract.High, Keys: []string{r.ID()},
				Message: "/etc/ld.so.preload differs (" + contract.Values(c, r) + "): every dynamically linked program loads it"})
		case isEnv:
			other = append(other, r.ID())
		}
	}
	if len(other) > 0 {
		out = append(out, contract.Finding{Severity: contract.Low, Keys: other,
			Message: "network-related environment differs: " + keyNames(other, "process/target/env/")})
	}
	return out
}

// privilegeRule: capabilities decide raw sockets (ping), netlink changes and low ports;
// seccomp can make a syscall fail with EPERM or ENOSYS; user ids pick uidrange rules.
func privilegeRule(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	if f, ok := capFinding(c); ok {
		out = append(out, f)
	}
	return append(out, rowFindings(c, "process/privileges", map[string]rowFinding{
		"target/seccomp":    {contract.Medium, "seccomp differs (", "): a filter can make socket calls fail with EPERM or ENOSYS"},
		"target/nonewprivs": {contract.Low, "no_new_privs differs (", ")"},
		"target/uid":        {contract.Low, "the target runs as different users (", "): policy rules with uidrange and ping_group_range depend on it"},
		"target/error":      {contract.Info, "the target process could not be read everywhere (", "): its environment and privileges are unknown there"},
	})...)
}

// runtimeRule: the C library decides resolver behaviour (musl ignores gai.conf and
// nsswitch, queries nameservers in parallel); the fd limit bounds concurrent sockets.
func runtimeRule(c *contract.Comparison) []contract.Finding {
	return rowFindings(c, "process/runtime", map[string]rowFinding{
		"target/libc":          {contract.Medium, "the target uses a different C library (", "): musl and glibc resolve names differently (search/ndots handling, gai.conf, nsswitch, parallel queries)"},
		"target/rlimit/nofile": {contract.Low, "open-file limit (soft/hard) differs (", "): it bounds how many sockets the process can hold (EMFILE)"},
		"target/exe":           {contract.Info, "the target runs a different program (", ")"},
	})
}

// rowFinding is the finding one differing row gives: its severity and the message around
// the row's values.
type rowFinding struct {
	severity      contract.Severity
	before, after string
}

// rowFindings gives, in row order, a finding of rule for every differing process row whose
// key has an entry in byKey.
func rowFindings(c *contract.Comparison, rule string, byKey map[string]rowFinding) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Rows {
		if r.Section != "process" || r.Equal {
			continue
		}
		if f, ok := byKey[r.Key]; ok {
			out = append(out, contract.Finding{Severity: f.severity, Rule: rule, Keys: []string{r.ID()},
				Message: f.before + contract.Values(c, r) + f.after})
		}
	}
	return out
}

// listRule names the processes each subject runs that the others do not: in the case
// study the failing pod ran s6-svscan, homeassistant and go2rtc, the working one sleep.
func listRule(c *contract.Comparison) []contract.Finding {
	only := make([][]string, len(c.Subjects))
	var keys []string
	for _, r := range c.Rows {
		if r.Section != "process" || r.Equal || !strings.HasPrefix(r.Key, "processes/") || r.Key == "processes/(total)" {
			continue
		}
		keys = append(keys, r.ID())
		for i := range c.Subjects {
			if i < len(r.Missing) && !r.Missing[i] && r.AnyMissing() {
				only[i] = append(only[i], strings.TrimPrefix(r.Key, "processes/"))
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var parts []string
	for i, s := range c.Subjects {
		if len(only[i]) > 0 {
			sort.Strings(only[i])
			parts = append(parts, s+" runs "+capList(only[i], 8))
		}
	}
	msg := "the visible processes differ"
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return []contract.Finding{{Severity: contract.Low, Keys: keys, Message: msg}}
}

// capFinding compares effective capabilities among the subjects whose target could be
// read (they have the mask fact): one row per capability, present as "yes" or missing.
func capFinding(c *contract.Comparison) (contract.Finding, bool) {
	mask, ok := c.Row("process", "target/cap/eff")
	if !ok {
		return contract.Finding{}, false
	}
	var changed, keys []string
	holders := make([][]string, len(c.Subjects))
	sev := contract.Low
	for _, r := range c.Section("process") {
		cp, isCap := strings.CutPrefix(r.Key, "target/cap/eff/")
		if !isCap {
			continue
		}
		has, lacks := 0, 0
		for i := range c.Subjects {
			switch {
			case !mask.Present(i):
			case r.Present(i):
				has++
			default:
				lacks++
			}
		}
		if has == 0 || lacks == 0 {
			continue
		}
		for i := range c.Subjects {
			if mask.Present(i) && r.Present(i) {
				holders[i] = append(holders[i], strings.TrimPrefix(cp, "CAP_"))
			}
		}
		changed = append(changed, cp)
		keys = append(keys, r.ID())
		if cp == "CAP_NET_RAW" || cp == "CAP_NET_ADMIN" || cp == "CAP_NET_BIND_SERVICE" {
			sev = contract.Medium
		}
	}
	if len(changed) == 0 {
		return contract.Finding{}, false
	}
	var parts []string
	for i, s := range c.Subjects {
		if !mask.Present(i) {
			continue
		}
		if len(holders[i]) == 0 {
			holders[i] = []string{"none of them"}
		}
		parts = append(parts, s+" has "+strings.Join(holders[i], ","))
	}
	return contract.Finding{Severity: sev, Rule: "process/privileges", Keys: keys,
		Message: "effective capabilities differ in " + capList(changed, 8) + " (" + strings.Join(parts, "; ") + "): NET_RAW decides raw/ICMP sockets, NET_ADMIN routes and netfilter, NET_BIND_SERVICE ports below 1024"}, true
}

// setIn says which subjects set a variable and to what ("pod-b sets HTTP_PROXY=…; pod-a does not").
func setIn(c *contract.Comparison, r contract.Row, name string) string {
	var set, unset []string
	for i, s := range c.Subjects {
		if i < len(r.Missing) && r.Missing[i] {
			unset = append(unset, s)
		} else if i < len(r.Values) {
			set = append(set, fmt.Sprintf("%s sets %s=%s", s, name, r.Values[i]))
		}
	}
	msg := strings.Join(set, "; ")
	if len(unset) > 0 {
		msg += "; " + strings.Join(unset, ", ") + " does not"
	}
	return msg
}

func keyNames(ids []string, prefix string) string {
	n := make([]string, len(ids))
	for i, id := range ids {
		n[i] = strings.TrimPrefix(id, prefix)
	}
	return capList(n, 8)
}

func capList(v []string, max int) string {
	if len(v) <= max {
		return strings.Join(v, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(v[:max], ", "), len(v)-max)
}
