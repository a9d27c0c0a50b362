//go:build !linux

package connect

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect connects with Linux sockets (blocking, non-blocking, IP_MTU), which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the connect probe runs only on Linux")
}
