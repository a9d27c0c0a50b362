package inject

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden container specs in testdata/")

// Every profile's ephemeral container spec is reviewed as a whole: a change in kubectl's
// profile code (or ours) that adds a capability or drops a restriction shows up as a diff
// of testdata/profile-*.yaml, not only when a hand-written check happens to look at it.
func TestProfileSpecsMatchGolden(t *testing.T) {
	spec := Spec{Image: "netdiff/netdiff-prober:v1.2.3", PullPolicy: corev1.PullIfNotPresent, TargetContainer: "app", Version: "v1.2.3", IdleTimeout: 15 * time.Minute}
	for _, p := range Profiles {
		t.Run(p, func(t *testing.T) {
			s := spec
			s.Profile = p
			_, ec, err := Generate(testPod(), s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(ec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "profile-"+p+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/inject -run Golden -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("profile %s: container spec changed; review it and rerun with -update\n--- want (%s)\n%s\n--- got\n%s", p, path, want, got)
			}
		})
	}
}

// The default profile must not add capabilities, run privileged or share host namespaces:
// that is what lets it pass Pod Security "baseline" and what users are promised.
func TestDefaultProfileAddsNoCapabilities(t *testing.T) {
	_, ec, err := Generate(testPod(), Spec{Image: "i", Profile: DefaultProfile, TargetContainer: "app"})
	if err != nil {
		t.Fatal(err)
	}
	sc := ec.SecurityContext
	if sc == nil {
		return
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		t.Errorf("default profile %s adds capabilities %v", DefaultProfile, sc.Capabilities.Add)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("default profile %s is privileged", DefaultProfile)
	}
	if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		t.Errorf("default profile %s allows privilege escalation", DefaultProfile)
	}
}
