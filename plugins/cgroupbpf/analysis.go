package cgroupbpf

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// analysis: the programs attached on the target's cgroup path lie on the path of every
// probe whose socket calls their hook: connect4/connect6 for a connect of that family,
// sendmsg and recvmsg for UDP, sock_create, egress and ingress for every socket, sock_ops
// for TCP. A program does not make the kernel's route lookup fail, so where the lookup
// already failed in the subject (no route, a policy rule's unreachable) the route is the
// cause and the programs are left off the path.
var analysis = contract.Analysis{Role: contract.State, Hop: func(contract.Row) contract.Hop { return contract.HopSocket }, Path: probePath, Infer: inferRefusal, Describe: describeRow}

// hooksFor lists the attach types that govern a probe of proto and family ("ipv4", "ipv6").
func hooksFor(proto, family string) []string {
	v := "4"
	if family == "ipv6" {
		v = "6"
	}
	common := []string{"sock_create", "egress", "ingress"}
	switch proto {
	case "tcp":
		return append(common, "connect"+v, "sock_ops", "setsockopt", "getsockopt")
	case "udp":
		return append(common, "connect"+v, "sendmsg"+v, "recvmsg"+v, "setsockopt", "getsockopt")
	case "icmp":
		return common
	}
	return nil
}

func probePath(c *contract.Comparison, p *contract.Probe, i int) []string {
	hooks := hooksFor(p.Proto, p.Family())
	if len(hooks) == 0 {
		return nil
	}
	if p.Route != nil && i < len(p.Route) && p.Route[i].Known && p.Route[i].Err != "" {
		return nil
	}
	inApp := p.AsApp && asAppInAppCgroup(c, i)
	var out []string
	for _, r := range c.Section(Name) {
		k, ok := ParseProgKey(r.Key)
		if !ok || !inApp && !governsProber(c, k.Level, i) {
			continue
		}
		for _, h := range hooks {
			if k.Attach == h {
				out = append(out, r.Key)
				break
			}
		}
	}
	return out
}

// asAppInAppCgroup reads the connect section's as-app status row (docs/sections/connect.md:
// "as-app/status" is "ran in the app's cgroup" when the child ran there, as with --via
// node): then every level of the app's cgroup path governs the as-app probes.
func asAppInAppCgroup(c *contract.Comparison, i int) bool {
	r, ok := c.Row("connect", "as-app/status")
	return ok && r.Present(i) && strings.HasSuffix(r.Values[i], "in the app's cgroup")
}

// governsProber: the programs of a level are on the path of the prober's probes in
// subject i unless the section says the prober ran outside that cgroup (the app's own
// cgroup, seen from an ephemeral container). Programs "above" are in effect for the app's
// cgroup from ancestors it shares with the prober; a report without the fact keeps them.
func governsProber(c *contract.Comparison, level string, i int) bool {
	r, ok := c.Row(Name, "prober/"+level)
	if !ok || !r.Present(i) {
		return true
	}
	return r.Values[i] == ProberRuns
}

// describeRow words a program row as a cause in subject i, against subject j, when no
// rule's finding named it (the subject that lacks a program the other has, e.g. a socket
// load balancer's connect4 program missing where service connects fail).
func describeRow(c *contract.Comparison, r contract.Row, i, j int) string {
	k, ok := ParseProgKey(r.Key)
	if !ok {
		return ""
	}
	switch {
	case r.Present(i) && !r.Present(j):
		return fmt.Sprintf("%s has a %s %s (%s has no such program)", c.Subjects[i], k.named(),
			where(k.Level, ""), c.Subjects[j])
	case !r.Present(i):
		return fmt.Sprintf("%s lacks the %s that %s has attached %s", c.Subjects[i], k.what(), c.Subjects[j],
			where(k.Level, ""))
	}
	return fmt.Sprintf("the %s attached %s is %s in %s (%s: %s)", k.what(), where(k.Level, ""),
		strings.TrimSpace(r.Values[i]), c.Subjects[i], c.Subjects[j], r.Values[j])
}

// refusingHooks are the hooks whose programs make a TCP connect of a family fail at once
// with EPERM.
func refusingHooks(family string) []string {
	if family == "ipv6" {
		return []string{"connect6", "sock_create"}
	}
	return []string{"connect4", "sock_create"}
}

// inferRefusal: a TCP probe fails at once with EPERM in subject i while its route lookup
// succeeds, and no differing fact on its path explains it. Nothing else in a pod's own
// stack answers a TCP connect so: a netfilter DROP makes it time out, a REJECT gives
// EHOSTUNREACH, ECONNREFUSED or EACCES, a prohibit rule or route EACCES, and both show in
// the route lookup or the counters. A cgroup BPF program (connect4/6, sock_create)
// returning "reject" gives exactly EPERM. UDP is left out: a netfilter DROP in OUTPUT
// fails a UDP send with EPERM too (checked in a network namespace). Where the programs could not be
// listed the finding says what would list them; where they were listed and are the same
// code as in the subjects that do better, it names them: they decide by the state in
// their maps (a socket load balancer's service table), which the report cannot show.
func inferRefusal(c *contract.Comparison, p *contract.Probe, i int, better []int) *contract.Finding {
	if p.Proto != "tcp" || p.Route == nil || i >= len(p.Route) || !p.Route[i].Known || p.Route[i].Err != "" {
		return nil
	}
	if errno, _, _ := strings.Cut(strings.TrimPrefix(p.Detail[i], "error "), " "); errno != "EPERM" {
		return nil
	}
	if len(c.Section(Name)) == 0 {
		return nil
	}
	what := fmt.Sprintf("%s's %s connects to %s fail at once with EPERM while its route lookup succeeds", c.Subjects[i], strings.ToUpper(p.Proto), p.Target)
	why := "of what lies on a connect's path, only a cgroup BPF program refuses it with EPERM (a netfilter DROP makes it time out, a REJECT or a prohibit rule gives another errno)"
	for _, k := range []string{"error/query", "error/cgroup"} {
		if r, ok := c.Row(Name, k); ok && r.Present(i) {
			hint := "rerun with --profile netadmin (CAP_NET_ADMIN) to list them"
			if k == "error/cgroup" {
				hint = "a prober that sees the app's cgroup (privileged, on the node) would list them"
			}
			return &contract.Finding{Severity: contract.High, Rule: Name + "/refused-connect", Keys: []string{r.ID()},
				Message: fmt.Sprintf("%s: %s; %s's cgroup BPF programs could not be listed (%s): %s", what, why, c.Subjects[i], r.Values[i], hint)}
		}
	}
	var progs, keys []string
	for _, r := range c.Section(Name) {
		k, ok := ParseProgKey(r.Key)
		if !ok || !r.Present(i) || !governsProber(c, k.Level, i) || !slices.Contains(refusingHooks(p.Family()), k.Attach) {
			continue
		}
		progs = append(progs, k.what()+" "+where(k.Level, levelPath(c, i, k.Level)))
		keys = append(keys, r.ID())
	}
	if len(progs) == 0 {
		return nil
	}
	var others []string
	for _, j := range better {
		others = append(others, c.Subjects[j])
	}
	return &contract.Finding{Severity: contract.High, Rule: Name + "/refused-connect", Keys: keys,
		Message: fmt.Sprintf("%s: %s, and on its path is the %s, the same code as in %s: it decides by the state in its maps (a socket load balancer's service and backend tables), which the report does not hold",
			what, why, strings.Join(progs, ", the "), strings.Join(others, ", "))}
}
