// Command try is `make try`: two network namespaces shaped like two pods, one with the case
// study's fault, the real prober in each and the real plugin diffing them (internal/try).
//
//	go run ./hack/try [-prober bin/netdiff-prober] [-plugin bin/kubectl-netdiff] [-dir _out/try] [-- PLUGIN FLAGS]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/netdiff/kubectl-netdiff/internal/try"
)

func main() {
	c := try.Config{Stdout: os.Stdout, Stderr: os.Stderr}
	flag.StringVar(&c.Prober, "prober", "bin/netdiff-prober", "the prober binary")
	flag.StringVar(&c.Plugin, "plugin", "bin/kubectl-netdiff", "the plugin binary")
	flag.StringVar(&c.Dir, "dir", "_out/try", "where the two reports are written")
	flag.Parse()
	c.PluginArgs = flag.Args()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	exit, err := try.Run(ctx, c)
	stop()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "try: interrupted; its namespaces are removed")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "try:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "(kubectl-netdiff exit status %d: 0 no differences, 1 differences found, 2 error)\n", exit)
	if exit >= 2 {
		os.Exit(exit)
	}
	// Differences are what the taste is for: make try succeeds when the plugin found them.
	fmt.Fprintf(os.Stderr, "Every finding and row: bin/kubectl-netdiff -f %s/web-a.json -f %s/web-broken.json -o wide --all\nOn a cluster: make demo\n", c.Dir, c.Dir)
}
