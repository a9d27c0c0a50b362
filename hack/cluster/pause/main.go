// Command pause is the sandbox ("pause") container of the local test cluster: it holds
// the pod's namespaces open and does nothing until it is told to stop. The usual pause
// image cannot be pulled here, so the harness builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the sandbox it also inherits orphans; SIGCHLD is ignored so the kernel
	// reaps them instead of leaving zombies.
	signal.Ignore(syscall.SIGCHLD)
	<-sig
}
