// Command kubectl-netdiff compares the network world of two pods.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kubectl-netdiff: not implemented yet in this build")
	os.Exit(2)
}
