//go:build linux

package drops_test

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/plugins/drops"
)

// Two identical pods give no differing drop row and no drop finding, run after run: what
// a healthy namespace drops during a probe run (the prober's own TCP teardown) lines up.
func TestTwinsHaveNoDropDifferences(t *testing.T) {
	w := newWorld(t)
	// A server that closes each connection at once, and a closed port: the teardowns,
	// refusals and resets are what every pod's probes meet.
	closingServer(t, w.srv, "10.41.9.2:8081")
	w.targets = []string{"10.41.9.2:8081", "10.41.9.2:9090", "icmp://10.41.9.2", "udp://10.41.9.2:53"}
	runs := 10
	if testing.Short() {
		runs = 2
	}
	normal := map[string]int{}
	for run := range runs {
		res, reps := w.pair(t, false)
		for _, r := range res.Rows {
			if r.Section == drops.Name && !r.Equal {
				t.Errorf("run %d: drop row differs: %s %v", run, r.Key, r.Values)
			}
		}
		for _, f := range res.Findings {
			if strings.HasPrefix(f.Rule, drops.Name+"/") {
				t.Errorf("run %d: finding %s: %s", run, f.Rule, f.Message)
			}
		}
		for _, rep := range reps {
			s := section(t, rep)
			if s.Unavailable != nil || len(s.Namespaces) != 2 {
				t.Fatalf("run %d: the watch is not on both namespaces: %s", run, dump(s))
			}
			for _, d := range s.Drops {
				if !d.Normal() {
					t.Errorf("run %d: a healthy pod dropped %s", run, dump(d))
				}
				normal[d.Netns+" "+d.Reason+"@"+d.Location]++
			}
		}
	}
	t.Logf("normal drops seen in %d runs of two pods (drops by place: runs it appeared in): %v", runs, normal)
}
