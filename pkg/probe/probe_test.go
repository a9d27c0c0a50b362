package probe

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

func TestEffort(t *testing.T) {
	peer, _ := target.Parse("10.244.0.6:8080")
	other, _ := target.Parse("10.96.0.1:443")
	env := &Env{Attempts: 5, Burst: 10, Gentle: map[string]bool{peer.String(): true}}
	if a, b := env.Effort(peer); a != 1 || b != 0 {
		t.Errorf("gentle target: %d attempts, burst %d; want 1, 0", a, b)
	}
	if a, b := env.Effort(other); a != 5 || b != 10 {
		t.Errorf("ordinary target: %d attempts, burst %d; want 5, 10", a, b)
	}
	env.Attempts = 0
	if a, _ := env.Effort(peer); a != 0 {
		t.Errorf("--attempts 0 must stay 0 for gentle targets, got %d", a)
	}
}
