package prober

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// --window-end-on-stdin: a watch run beside another prober's window (the node pod's drop
// watch beside a pod's probes, kubectl netdiff --node-side) opens, says so on stderr
// (probe.WindowOpenLine), and closes when kubectl netdiff writes a line on its stdin (the
// pod's report is in), or at --window at the latest; then it reports as usual.

func addWindowEndFlag(f *pflag.FlagSet, o *CollectOptions) {
	f.BoolVar(&o.WindowEndOnStdin, "window-end-on-stdin", false, "with --window: write \""+probe.WindowOpenLine+"\" on stderr as the window opens, and close it early when a line arrives on stdin (set by kubectl netdiff --node-side for the node's watch during the pod's probes)")
}

// watchStdin reads in to its end. The first line closes the returned channel when
// --window-end-on-stdin is set; the end of stdin closes it too, and with --stdin-watch
// it calls cancel (nobody waits for the report any more).
func (o *CollectOptions) watchStdin(in io.Reader, cancel func()) <-chan struct{} {
	end := make(chan struct{})
	go func() {
		r := bufio.NewReader(in)
		closed := false
		for {
			_, err := r.ReadString('\n')
			if !closed && (o.WindowEndOnStdin || err != nil) {
				close(end)
				closed = true
			}
			if err != nil {
				break
			}
		}
		if o.StdinWatch {
			cancel()
		}
	}()
	return end
}

// windowEnd wires the window's end and its opening line into env, for
// --window-end-on-stdin only.
func (o *CollectOptions) windowEnd(env *probe.Env, end <-chan struct{}) {
	if !o.WindowEndOnStdin {
		return
	}
	env.WindowEnd = end
	env.WindowOpened = func() { fmt.Fprintln(o.ErrOut, probe.WindowOpenLine) }
}
