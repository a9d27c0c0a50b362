package cgroupbpf

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// analysis: the programs attached on the target's cgroup path lie on the path of every
// probe whose socket calls their hook: connect4/connect6 for a connect of that family,
// sendmsg and recvmsg for UDP, sock_create, egress and ingress for every socket, sock_ops
// for TCP. A program does not make the kernel's route lookup fail, so where the lookup
// already failed in the subject (no route, a policy rule's unreachable) the route is the
// cause and the programs are left off the path.
var analysis = diff.Analysis{Role: diff.State, Path: probePath, Describe: describeRow}

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

func probePath(c *diff.Comparison, p *diff.Probe, i int) []string {
	hooks := hooksFor(p.Proto, p.Family())
	if len(hooks) == 0 {
		return nil
	}
	if p.Route != nil && i < len(p.Route) && p.Route[i].Known && p.Route[i].Err != "" {
		return nil
	}
	var out []string
	for _, r := range c.Section(Name) {
		k, ok := ParseProgKey(r.Key)
		if !ok || !governsProber(c, k.Level, i) {
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

// governsProber: the programs of a level are on the path of the prober's probes in
// subject i unless the section says the prober ran outside that cgroup (the app's own
// cgroup, seen from an ephemeral container). Programs "above" are in effect for the app's
// cgroup from ancestors it shares with the prober; a report without the fact keeps them.
func governsProber(c *diff.Comparison, level string, i int) bool {
	r, ok := c.Row(Name, "prober/"+level)
	if !ok || !r.Present(i) {
		return true
	}
	return r.Values[i] == ProberRuns
}

// describeRow words a program row as a cause in subject i, against subject j, when no
// rule's finding named it (the subject that lacks a program the other has, e.g. a socket
// load balancer's connect4 program missing where service connects fail).
func describeRow(c *diff.Comparison, r diff.Row, i, j int) string {
	k, ok := ParseProgKey(r.Key)
	if !ok {
		return ""
	}
	switch {
	case r.Present(i) && !r.Present(j):
		return fmt.Sprintf("%s has a %s attached %s that %s does not: %s", c.Subjects[i], k.what(),
			where(k.Level, levelPath(c, i, k.Level)), c.Subjects[j], does(k.Attach))
	case !r.Present(i):
		return fmt.Sprintf("%s lacks the %s that %s has attached %s: %s", c.Subjects[i], k.what(), c.Subjects[j],
			where(k.Level, levelPath(c, j, k.Level)), does(k.Attach))
	}
	return fmt.Sprintf("the %s attached %s is %s in %s (%s: %s)", k.what(), where(k.Level, ""),
		strings.TrimSpace(r.Values[i]), c.Subjects[i], c.Subjects[j], r.Values[j])
}
