package events

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
)

// TestTwinsHaveNoFindings: two namespaces built the same way must give no finding from
// this plugin's rules, or the rules would bury real causes in noise.
func TestTwinsHaveNoFindings(t *testing.T) { plugintest.TwinsHaveNoFindings(t, Name) }
