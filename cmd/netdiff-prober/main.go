// Command netdiff-prober prints one JSON report of the network world it runs in.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/netdiff/kubectl-netdiff/pkg/prober"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // registers every probe plugin
)

func main() {
	if err := prober.NewCommand(os.Stdout, os.Stderr).ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "netdiff-prober:", err)
		os.Exit(2)
	}
}
