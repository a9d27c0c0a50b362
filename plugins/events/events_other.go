//go:build !linux

package events

import (
	"context"
	"errors"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// Plugin collects the events section; off Linux it only reads stored sections.
type Plugin struct{}

var errNotLinux = errors.New("the events probe runs only on Linux")

// Begin would subscribe to rtnetlink, which only Linux has; the plugin binary on other
// systems only reads reports.
func (*Plugin) Begin(context.Context, *probe.Env) error { return errNotLinux }

// Collect has no window to close off Linux.
func (*Plugin) Collect(context.Context, *probe.Env) (any, error) { return nil, errNotLinux }
