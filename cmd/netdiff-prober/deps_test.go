package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The prober runs inside the app's memory limit and on any node: it must stay free of
// Kubernetes client code.
func TestProberImportsNoKubernetes(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("netdiff-prober imports %s", dep)
		}
	}
}
