// Command kubectl-netdiff compares the network worlds of two pods.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers (exec, oidc, …)
	"k8s.io/klog/v2"

	"github.com/netdiff/kubectl-netdiff/pkg/cmd/netdiff"
	"github.com/netdiff/kubectl-netdiff/pkg/engine"
	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	_ "github.com/netdiff/kubectl-netdiff/pkg/noi18n"          // before kubectl's packages initialise
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"         // facts and finding rules of every probe plugin
	_ "github.com/netdiff/kubectl-netdiff/plugins/all/cluster" // the sections read from the API
)

func main() {
	// client-go logs transient watch and stream errors through klog; netdiff reports its
	// own errors, so those lines would only be noise on the user's terminal.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel() // the run winds down and cleans up (engine.InterruptGrace)
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "error: interrupted twice: stopped at once")
		case <-time.After(engine.InterruptGrace()):
			fmt.Fprintln(os.Stderr, "error: interrupted")
		}
		os.Exit(engine.ExitInterrupted)
	}()
	cmd := netdiff.NewCmdNetdiff(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := cmd.ExecuteContext(ctx)
	signal.Stop(sigs)
	cancel()
	if err != nil && !exit.Silent(err) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(exit.Code(err, engine.ExitError))
}
