package interfaces

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect dumps links and addresses of the current network namespace.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	links, err := netlink.LinkList()
	interrupted := errors.Is(err, netlink.ErrDumpInterrupted)
	if err != nil && !interrupted {
		return nil, fmt.Errorf("list links over netlink: %w", err)
	}
	addrs, aerr := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if errors.Is(aerr, netlink.ErrDumpInterrupted) {
		interrupted, aerr = true, nil
	}
	s := Convert(links, addrs)
	s.Interrupted = interrupted
	s.AddrError = report.ErrorOf(aerr)
	return s, nil
}

// Convert builds the section from netlink's link and address lists, sorted by name.
func Convert(links []netlink.Link, addrs []netlink.Addr) *Section {
	s := &Section{Total: len(links), Interfaces: netstate.ConvertLinks(links, addrs)}
	if len(s.Interfaces) > MaxInterfaces {
		s.Interfaces, s.Truncated = s.Interfaces[:MaxInterfaces], true
	}
	return s
}
