package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Every fault the e2e fault matrix provokes ends in a message with the pod, the step and
// the fix; these are the ones whose fix Explain adds.
func TestExplainNamesTheFix(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"garbage from the prober", &podrun.StepError{Pod: "ns/p", Step: "read report", Err: errors.New("malformed report: invalid character '<'")},
			[]string{"ns/p", "read report", "--image", "kubectl netdiff version"}},
		{"another schema", &podrun.StepError{Pod: "ns/p", Step: "read report", Err: fmt.Errorf("%w \"x/v9\"", report.ErrSchema)},
			[]string{"ns/p", "read report", "--image"}},
		{"exec refused by RBAC", &podrun.StepError{Pod: "ns/p", Step: "exec prober", Err: errors.New(`unable to upgrade streaming request: pods "p" is forbidden: User "system:serviceaccount:ns:u" cannot get resource "pods/exec" in API group "" in the namespace "ns"`)},
			[]string{"ns/p", "exec prober", `"create" (and "get") on "pods/exec"`, "docs/rbac.md"}},
		{"prober killed", &podrun.StepError{Pod: "ns/p", Step: "exec prober", Err: errors.New("command terminated with exit code 137; prober said: …")},
			[]string{"ns/p", "exec prober", "killed", "kubectl describe pod ns/p", "rerun"}},
		{"kubelet does not know the pod", &podrun.StepError{Pod: "ns/p", Step: "exec prober", Err: &podrun.PodUnknownError{Node: "node-7", For: 88 * time.Second,
			Err: errors.New("Internal error occurred: unable to upgrade connection: pod does not exist")}},
			[]string{"ns/p", "exec prober", "kubelet on node node-7 does not know this pod", "pod does not exist", "node node-7", "restarted", "kubectl describe pod -n ns p", "recreate the pod"}},
		{"via node: waiting for the node pod refused by RBAC", &podrun.StepError{Pod: "ns/p", NodePod: "ops/netdiff-node-x", Step: "wait for node pod",
			Err: errors.New(`pods is forbidden: User "u" cannot watch resource "pods" in API group "" in the namespace "ops"`)},
			[]string{"pod ns/p (via node pod ops/netdiff-node-x): wait for node pod", `"list" and "watch" on "pods"`, "--node-namespace"}},
		{"via node: the node's kubelet does not know the node pod", &podrun.StepError{Pod: "ns/p", NodePod: "ops/netdiff-node-x", Step: "exec prober", Err: &podrun.PodUnknownError{Node: "node-7",
			Err: errors.New("pod does not exist")}},
			[]string{"pod ns/p (via node pod ops/netdiff-node-x)", "kubectl describe pod -n ns p"}},
	}
	for _, tt := range tests {
		got := Explain(tt.err, "baseline")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q does not mention %q", tt.name, got, w)
			}
		}
	}
}
