package cgroupbpf

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// BenchmarkCollect lists the programs of the benchmark's own cgroup and its ancestors.
func BenchmarkCollect(b *testing.B) {
	plugintest.BenchCollect(b, func() probe.Plugin { return &Plugin{} })
}
