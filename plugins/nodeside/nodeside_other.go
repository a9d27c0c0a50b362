//go:build !linux

package nodeside

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect reads netlink, nftables and /proc of a node, which only Linux has; the plugin
// binary on other systems only reads reports.
func (*Plugin) Collect(_ context.Context, env *probe.Env) (any, error) {
	if len(env.PodIPs) == 0 {
		return nil, probe.ErrNotAsked
	}
	return nil, errors.New("the nodeside probe runs only on Linux")
}
