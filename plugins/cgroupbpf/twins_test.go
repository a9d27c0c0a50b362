package cgroupbpf

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// TestTwinsHaveNoFindings: two namespaces built the same way must give no finding from
// this plugin's rules (the programs of both are those of the test's own cgroup).
func TestTwinsHaveNoFindings(t *testing.T) { plugintest.TwinsHaveNoFindings(t, Name) }
