package dnsconfig

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// BenchmarkCollect measures one collection of this section on the live system and
// reports the size of the section as stored in a report.
func BenchmarkCollect(b *testing.B) {
	plugintest.BenchCollect(b, func() probe.Plugin { return &Plugin{} })
}
