package rules

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect dumps the rules of both families in the current network namespace.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	s := &Section{Rules: []Rule{}}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		name := map[int]string{unix.AF_INET: "ipv4", unix.AF_INET6: "ipv6"}[fam]
		req := nl.NewNetlinkRequest(unix.RTM_GETRULE, unix.NLM_F_DUMP)
		req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(fam)}})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWRULE)
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			s.Interrupted, err = true, nil
		}
		if err != nil {
			if s.Errors == nil {
				s.Errors = map[string]*report.Error{}
			}
			s.Errors[name] = report.ErrorOf(fmt.Errorf("dump %s rules: %w", name, err))
			continue
		}
		for _, m := range msgs {
			r, err := netstate.ParseRule(m)
			if err != nil {
				return nil, fmt.Errorf("decode %s rule: %w", name, err)
			}
			s.Rules = append(s.Rules, r)
		}
	}
	finish(s)
	return s, nil
}
