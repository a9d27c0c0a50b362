package netfilter

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// An owner match (skuid) lies on a probe's path only for the uid it ran as in that
// subject: root's for the prober's probes, the app's for the probes as the app.
func TestSkuidOnPathOfTheAppsUID(t *testing.T) {
	key := "nft/rule/ip/filter/OUTPUT[output]: meta l4proto tcp th dport 8080 meta skuid 1000"
	root := &contract.Probe{Proto: "tcp", Port: 8080}
	app := &contract.Probe{Proto: "tcp", Port: 8080, AsApp: true, UIDs: []int{1000, 0}}
	if ruleMayMatch(key, root, 0) {
		t.Error("root's probe meets a skuid 1000 rule")
	}
	if !ruleMayMatch(key, app, 0) || ruleMayMatch(key, app, 1) {
		t.Errorf("as the app (uids 1000, 0): %v, %v; want true, false", ruleMayMatch(key, app, 0), ruleMayMatch(key, app, 1))
	}
}
