package interfaces

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// MTUDiffers flags a same-named interface whose MTU differs: large packets (TLS
// handshakes, bulk transfers) stall on the smaller side while small probes pass.
func MTUDiffers(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, r := range c.Rows {
		if r.Section != Name || r.Equal || !strings.HasSuffix(r.Key, "/mtu") || r.AnyMissing() {
			continue
		}
		dev := strings.TrimSuffix(r.Key, "/mtu")
		out = append(out, contract.Finding{
			Severity: contract.Medium,
			Message:  fmt.Sprintf("`ip link` %s mtu differs (%s)", dev, perSubject(c.Subjects, r.Values)),
			Detail:   "packets larger than the smaller MTU are dropped or fragmented on one side only",
			Keys:     []string{r.ID()},
		})
	}
	return out
}

// Down flags an interface that is up in one subject and down (administratively or
// without carrier) in another.
func Down(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	names := map[string]bool{}
	for _, s := range secs {
		if s == nil {
			continue
		}
		for _, in := range s.Interfaces {
			names[in.Name] = true
		}
	}
	var out []contract.Finding
	for _, name := range sortedKeys(names) {
		var upIn, downIn []string
		for i, s := range secs {
			if s == nil {
				continue
			}
			in := find(s, name)
			if in == nil {
				continue
			}
			if isUp(in) {
				upIn = append(upIn, c.Subjects[i])
			} else {
				downIn = append(downIn, fmt.Sprintf("%s (%s)", c.Subjects[i], downReason(in)))
			}
		}
		if len(upIn) == 0 || len(downIn) == 0 {
			continue
		}
		out = append(out, contract.Finding{
			Severity: contract.High,
			Message:  fmt.Sprintf("`ip link` %s is down in %s (up in %s)", name, strings.Join(downIn, ", "), strings.Join(upIn, ", ")),
			Detail:   "the kernel removes the routes through a link that goes down; traffic routed over it fails",
			Keys:     []string{Name + "/" + name + "/flags", Name + "/" + name + "/state"},
		})
	}
	return out
}

// isUp: administratively up with carrier. Operstate alone is not enough: loopback and
// dummy links report "unknown" while working.
func isUp(in *Interface) bool {
	has := map[string]bool{}
	for _, f := range in.Flags {
		has[f] = true
	}
	return has["up"] && (has["lower_up"] || in.Type == "loopback") && in.OperState != "down"
}

func downReason(in *Interface) string {
	for _, f := range in.Flags {
		if f == "up" {
			return "no carrier, state " + in.OperState
		}
	}
	return "administratively down"
}

// IPv6OneOnly flags subjects that have usable global IPv6 addresses while others have none:
// names resolving to AAAA records then behave differently.
func IPv6OneOnly(c *contract.Comparison) []contract.Finding {
	secs := contract.Sections[Section](c, Name)
	var with, without []string
	var keys []string
	for i, s := range secs {
		if s == nil {
			continue
		}
		var globals []string
		for _, in := range s.Interfaces {
			for _, a := range in.Addrs {
				if a.Family == "ipv6" && a.Scope == "global" && usable(a) {
					globals = append(globals, in.Name+" "+a.CIDR)
					keys = appendOnce(keys, Name+"/"+in.Name+"/addrs/ipv6")
				}
			}
		}
		if len(globals) > 0 {
			with = append(with, fmt.Sprintf("%s (%s)", c.Subjects[i], strings.Join(globals, ", ")))
		} else {
			without = append(without, c.Subjects[i])
		}
	}
	if len(with) == 0 || len(without) == 0 {
		return nil
	}
	return []contract.Finding{{
		Severity: contract.Medium,
		Message:  fmt.Sprintf("%s have global IPv6 addresses and %s have none: IPv6 destinations and AAAA-first resolution behave differently", strings.Join(with, ", "), strings.Join(without, ", ")),
		Keys:     keys,
	}}
}

// DAD flags addresses that duplicate address detection has not cleared: a tentative
// address cannot be bound or used as a source yet (EADDRNOTAVAIL), a dadfailed one never.
func DAD(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for i, s := range contract.Sections[Section](c, Name) {
		if s == nil {
			continue
		}
		for _, in := range s.Interfaces {
			for _, a := range in.Addrs {
				sev, what := contract.Severity(-1), ""
				for _, f := range a.Flags {
					switch f {
					case "dadfailed":
						sev, what = contract.High, "failed duplicate address detection (another host holds it): it is never used"
					case "tentative":
						if sev < contract.Medium {
							sev, what = contract.Medium, "is still tentative (duplicate address detection running): binding or sourcing from it fails with EADDRNOTAVAIL"
						}
					}
				}
				if sev < 0 {
					continue
				}
				out = append(out, contract.Finding{
					Severity: sev,
					Message:  fmt.Sprintf("%s: address %s on %s %s", c.Subjects[i], a.CIDR, in.Name, what),
					Keys:     []string{Name + "/" + in.Name + "/addrs/" + a.Family},
				})
			}
		}
	}
	return out
}

// usable: DAD has cleared the address, so the kernel will source traffic from it.
func usable(a Addr) bool {
	for _, f := range a.Flags {
		if f == "tentative" || f == "dadfailed" {
			return false
		}
	}
	return true
}

func find(s *Section, name string) *Interface {
	for i := range s.Interfaces {
		if s.Interfaces[i].Name == name {
			return &s.Interfaces[i]
		}
	}
	return nil
}

func perSubject(subjects, values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		name := fmt.Sprintf("subject %d", i)
		if i < len(subjects) {
			name = subjects[i]
		}
		parts[i] = name + " " + v
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
