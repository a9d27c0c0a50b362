package icmp

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
)

// connectSection is the connect section's name, and connectSchema the part of its schema
// (docs/sections/connect.md) the ping-vs-TCP rule reads.
const connectSection = "connect"

type connectSchema struct {
	Targets []struct {
		Target    string `json:"target"`
		Addresses []struct {
			Address     string         `json:"address"`
			Key         string         `json:"key"`
			Blocking    *connectMethod `json:"blocking"`
			Nonblocking *connectMethod `json:"nonblocking"`
		} `json:"addresses"`
	} `json:"targets"`
}

type connectMethod struct {
	Sequential netprobe.Run `json:"sequential"`
}

// connectNonblockingRow is the ID of connect's row for the non-blocking attempts at an
// address (its key is documented in docs/sections/connect.md).
func connectNonblockingRow(tgt, addrKey string) string {
	return connectSection + "/tcp/nonblocking/" + tgt + "/" + addrKey
}

func sections(c *contract.Comparison) ([]*Section, []*connectSchema) {
	return contract.DecodeSections(c, Name, Decode), contract.DecodeSections(c, connectSection, contract.DecodeJSON[connectSchema])
}

func works(r *netprobe.Run) bool { return r != nil && r.OK > 0 }
func dead(r *netprobe.Run) bool  { return r != nil && r.OK == 0 && r.Attempts > 0 }

// ruleEchoDiffers: echo replies come back in one subject and never in another.
func ruleEchoDiffers(c *contract.Comparison) []contract.Finding {
	is, _ := sections(c)
	type cell struct {
		subject int
		a       AddrResult
	}
	by := map[string][]cell{}
	for i, s := range is {
		if s == nil {
			continue
		}
		for _, t := range s.Targets {
			for _, a := range t.Addresses {
				by[Key(t.Target, a.Key)] = append(by[Key(t.Target, a.Key)], cell{i, a})
			}
		}
	}
	keys := slices.Sorted(maps.Keys(by))
	var out []contract.Finding
	for _, k := range keys {
		var ok []string
		for _, c2 := range by[k] {
			if works(c2.a.Echo) {
				ok = append(ok, c.Subjects[c2.subject])
			}
		}
		if len(ok) == 0 {
			continue
		}
		for _, c2 := range by[k] {
			if !dead(c2.a.Echo) {
				continue
			}
			out = append(out, contract.Finding{
				Severity: contract.High,
				Message: fmt.Sprintf("%s: ICMP echo to %s (%s) gets %s while %s get%s replies",
					c.Subjects[c2.subject], k, c2.a.Address, c2.a.Echo.Format("ok"), strings.Join(ok, ", "), sIf(len(ok) == 1)),
				Keys: []string{Name + "/" + k},
			})
		}
	}
	return out
}

func sIf(b bool) string {
	if b {
		return "s"
	}
	return ""
}

// rulePingOKTCPFails: every subject reaches an address with ICMP, but TCP to the same
// address fails in one: layer 3 works, so look at ports, netfilter, BPF or the process.
func rulePingOKTCPFails(c *contract.Comparison) []contract.Finding {
	is, cs := sections(c)
	pingOK := map[string]int{} // address → subjects with echo replies
	pingKey := map[string]string{}
	present := 0
	for _, s := range is {
		if s == nil {
			continue
		}
		present++
		seen := map[string]bool{}
		for _, t := range s.Targets {
			for _, a := range t.Addresses {
				if works(a.Echo) && !seen[a.Address] {
					seen[a.Address] = true
					pingOK[a.Address]++
					pingKey[a.Address] = Name + "/" + Key(t.Target, a.Key)
				}
			}
		}
	}
	if present < 2 {
		return nil
	}
	var out []contract.Finding
	for i, s := range cs {
		if s == nil {
			continue
		}
		for _, t := range s.Targets {
			for _, a := range t.Addresses {
				if pingOK[a.Address] != present || a.Nonblocking == nil || a.Blocking == nil {
					continue
				}
				nb, b := a.Nonblocking.Sequential, a.Blocking.Sequential
				if nb.OK > 0 && b.OK > 0 {
					continue
				}
				// A refused port fails everywhere for the same reason; only a difference counts.
				if !worksElsewhere(cs, i, t.Target, a.Key) {
					continue
				}
				out = append(out, contract.Finding{
					Severity: contract.High,
					Message: fmt.Sprintf("%s: ICMP echo to %s works in every subject, but TCP connect to %s fails here (blocking %s, non-blocking %s): layer 3 is fine, so look at layer 4 (ports, netfilter, BPF, policy rules on ports, the process)",
						c.Subjects[i], a.Address, t.Target, b.Format("ok"), nb.Format("ok")),
					Keys: []string{pingKey[a.Address], connectNonblockingRow(t.Target, a.Key)},
				})
			}
		}
	}
	return out
}

func worksElsewhere(cs []*connectSchema, self int, tgt, key string) bool {
	for j, s := range cs {
		if j == self || s == nil {
			continue
		}
		for _, t := range s.Targets {
			if t.Target != tgt {
				continue
			}
			for _, a := range t.Addresses {
				if a.Key == key && a.Nonblocking != nil && a.Blocking != nil && a.Nonblocking.Sequential.OK > 0 && a.Blocking.Sequential.OK > 0 {
					return true
				}
			}
		}
	}
	return false
}
