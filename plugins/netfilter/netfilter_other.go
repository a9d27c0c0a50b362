//go:build !linux

package netfilter

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect lists nftables over netlink and legacy x_tables by getsockopt, which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the netfilter probe runs only on Linux")
}
