//go:build !linux

package neighbours

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect dumps the neighbour table over netlink, which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the neighbours probe runs only on Linux")
}
