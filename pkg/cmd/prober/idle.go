package prober

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// newIdleCommand is the ephemeral container's main process. Ephemeral containers can never
// be removed from a pod, so it must end by itself: it exits once no collect has touched
// the stamp file for --timeout, leaving a terminated container instead of a live one.
func newIdleCommand(errOut io.Writer) *cobra.Command {
	var (
		timeout time.Duration
		stamp   string
	)
	cmd := &cobra.Command{
		Use:   "idle --timeout DUR --stamp FILE",
		Short: "Stay alive until no collect has run for --timeout, then exit 0",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, got %s", timeout)
			}
			touch(stamp)
			last := time.Now()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			tick := time.NewTicker(idlePoll(timeout))
			defer tick.Stop()
			for {
				select {
				case <-sig:
					return nil
				case <-tick.C:
					last = lastUse(stamp, last)
					if time.Since(last) >= timeout {
						fmt.Fprintf(errOut, "netdiff-prober: idle for %s, exiting\n", time.Since(last).Round(time.Second))
						return nil
					}
				}
			}
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "exit after this long without a collect")
	cmd.Flags().StringVar(&stamp, "stamp", "/tmp/netdiff-last-use", "file whose modification time marks the last collect")
	return cmd
}

func idlePoll(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 100*time.Millisecond), 10*time.Second)
}

func touch(path string) {
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		if f, err := os.Create(path); err == nil {
			f.Close()
		}
	}
}

// lastUse is the later of prev and the stamp's mtime. An unreadable stamp (no writable
// /tmp) leaves prev, so the container still exits after the timeout counted from its start.
func lastUse(path string, prev time.Time) time.Time {
	if fi, err := os.Stat(path); err == nil && fi.ModTime().After(prev) {
		return fi.ModTime()
	}
	return prev
}
