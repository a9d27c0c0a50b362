package counters

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// BenchmarkCollect measures one collection of this section on the live system and
// reports the size of the section as stored in a report.
func BenchmarkCollect(b *testing.B) {
	plugintest.BenchCollect(b, Name)
}
