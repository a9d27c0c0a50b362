//go:build !linux

package netns

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect stats namespace files under /proc, which only Linux has; the plugin binary on other systems only reads
// reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the netns probe runs only on Linux")
}
