//go:build !linux

package interfaces

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect reads links over netlink, which only Linux has; the plugin binary on other
// systems only reads reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the interfaces probe runs only on Linux")
}
