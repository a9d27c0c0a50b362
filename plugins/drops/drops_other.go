//go:build !linux

package drops

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Plugin is the drop watch; it runs only in the Linux prober.
type Plugin struct{}

// Begin loads a BPF program, which only Linux can.
func (*Plugin) Begin(context.Context, *probe.Env) error { return nil }

// Collect: the plugin binary on other systems only reads reports.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, errors.New("the drops probe runs only on Linux")
}
