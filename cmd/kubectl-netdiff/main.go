// Command kubectl-netdiff compares the network worlds of two pods.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers (exec, oidc, …)

	"github.com/netdiff/kubectl-netdiff/pkg/cmd/netdiff"
	_ "github.com/netdiff/kubectl-netdiff/pkg/podfacts" // the "pod" section from the API
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"  // facts and finding rules of every probe plugin
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := netdiff.NewCmdNetdiff(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil && !netdiff.IsSilent(err) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(netdiff.ExitCode(err))
}
