// Command coredns is CoreDNS built with only the plugins the local test cluster needs,
// so its cold build stays small. It is its own module so the product's go.mod never
// depends on CoreDNS. Built by ../build-coredns.sh.
//
// This is CoreDNS's documented way to build with a chosen plugin set: replace
// dnsserver.Directives with the wanted subset (in plugin.cfg's order, which is the
// order plugins run in, whatever their order in the Corefile) and import only those
// plugins, instead of the all-plugin bundle github.com/coredns/coredns/core/plugin.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// directives is the subset of CoreDNS v1.15.0's plugin.cfg, in its order.
var directives = []string{
	"reload",
	"ready",
	"health",
	"errors",
	"log",
	"cache",
	"hosts",
	"kubernetes",
	"loop",
	"forward",
}

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		panic(err)
	}
	coremain.Run()
}
