package cgroupbpf

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// BenchmarkCollect lists the programs of the benchmark's own cgroup and its ancestors.
func BenchmarkCollect(b *testing.B) {
	plugintest.BenchCollect(b, Name)
}
