// Command kubectl-netdiff compares the network worlds of two pods.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers (exec, oidc, …)
	"k8s.io/klog/v2"

	"github.com/netdiff/kubectl-netdiff/pkg/cmd/netdiff"
	_ "github.com/netdiff/kubectl-netdiff/pkg/podfacts" // the "pod" section from the API
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"  // facts and finding rules of every probe plugin
)

func main() {
	// client-go logs transient watch and stream errors through klog; netdiff reports its
	// own errors, so those lines would only be noise on the user's terminal.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := netdiff.NewCmdNetdiff(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil && !netdiff.IsSilent(err) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(netdiff.ExitCode(err))
}
