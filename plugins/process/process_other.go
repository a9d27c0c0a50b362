//go:build !linux

package process

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect reads the target's /proc/PID files, which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the process probe runs only on Linux")
}
