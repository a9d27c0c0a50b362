package events

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// BenchmarkCollect measures opening and closing the watch on the live system (no window
// in between) and reports the size of the section as stored in a report.
func BenchmarkCollect(b *testing.B) {
	plugintest.BenchCollect(b, Name)
}
