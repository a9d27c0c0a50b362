package netnstest

import (
	"math"
	"testing"
)

// Two test processes with the same counter must not pick the same host-side names, and no
// name may exceed the kernel's 15 characters.
func TestVethTempNames(t *testing.T) {
	seen := map[string]bool{}
	for _, pid := range []int{1, 2, 36, 4194304} {
		for _, n := range []int32{1, 2, 37, math.MaxInt32} {
			a, b := vethTempNames(pid, n)
			for _, name := range []string{a, b} {
				if len(name) > 15 {
					t.Errorf("pid %d n %d: %q is longer than 15 characters", pid, n, name)
				}
				if seen[name] {
					t.Errorf("pid %d n %d: %q used twice", pid, n, name)
				}
				seen[name] = true
			}
		}
	}
}
