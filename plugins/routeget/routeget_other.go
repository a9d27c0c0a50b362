//go:build !linux

package routeget

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Collect asks the kernel's routing over netlink, which only Linux has; the plugin binary
// on other systems only reads reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the routeget probe runs only on Linux")
}

// DefaultTargets has no routes to read off Linux.
func (*Plugin) DefaultTargets(context.Context, *probe.Env) []target.Target { return nil }
