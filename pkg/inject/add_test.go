package inject

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A run that loses the race to add the same container uses the winner's; a refusal for
// another reason stays an error.
func TestAddUsesTheContainerAConcurrentRunAdded(t *testing.T) {
	spec := Spec{Image: "netdiff/netdiff-prober:v1", PullPolicy: corev1.PullIfNotPresent, TargetContainer: "app", Version: "v1", Profile: "general", IdleTimeout: 15 * time.Minute}
	for _, tc := range []struct {
		name      string
		winnerAdd bool
		wantErr   bool
	}{{"winner added it", true, false}, {"refused for another reason", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod()
			pod.Namespace = "apps"
			cs := fake.NewClientset(pod.DeepCopy())
			cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "ephemeralcontainers" {
					return false, nil, nil
				}
				if tc.winnerAdd {
					won, _, err := Generate(pod, spec)
					if err != nil {
						t.Fatal(err)
					}
					if err := cs.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, won, "apps"); err != nil {
						t.Fatal(err)
					}
				}
				return true, nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, pod.Name,
					field.ErrorList{field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "may not be changed")})
			})
			name, err := Add(context.Background(), cs.CoreV1().Pods("apps"), pod, spec)
			if tc.wantErr != (err != nil) {
				t.Fatalf("Add = %q, %v; want error %v", name, err, tc.wantErr)
			}
			if err == nil && name != ContainerName(pod, spec) {
				t.Errorf("Add = %q, want the winner's %s", name, ContainerName(pod, spec))
			}
		})
	}
}
