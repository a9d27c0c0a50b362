//go:build !linux

package sockets

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect dumps sockets over sock_diag netlink and Linux's /proc, which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the sockets probe runs only on Linux")
}
