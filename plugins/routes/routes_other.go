//go:build !linux

package routes

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect dumps routes over netlink, which only Linux has; the plugin binary on other
// systems only reads reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the routes probe runs only on Linux")
}
