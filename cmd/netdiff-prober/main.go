// Command netdiff-prober prints one JSON report of the network world it runs in.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/netdiff/kubectl-netdiff/pkg/cmd/prober"
	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // registers every probe plugin
)

// memoryLimit is a soft limit for the Go heap: the prober runs inside the app's memory
// limit, so it collects garbage early rather than grow on a node-sized namespace.
// GOMEMLIMIT overrides it.
const memoryLimit = 12 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	err := prober.NewCommand(os.Stdout, os.Stderr).ExecuteContext(context.Background())
	if err != nil && !exit.Silent(err) { // a run in a container's namespaces said why itself
		fmt.Fprintln(os.Stderr, "netdiff-prober:", err)
	}
	os.Exit(exit.Code(err, 2))
}
