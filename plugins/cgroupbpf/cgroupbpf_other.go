//go:build !linux

package cgroupbpf

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Collect queries the kernel's bpf() syscall, which only Linux has; the plugin binary on
// other systems only reads reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the cgroupbpf probe runs only on Linux")
}
