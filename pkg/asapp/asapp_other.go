//go:build !linux

package asapp

import (
	"context"
	"errors"
)

// Run runs task as the app; probes as the app run only on Linux.
func (r *Runner) Run(ctx context.Context, id Process, task string, in, out any) error {
	return errors.New("probes as the app run only on Linux")
}
