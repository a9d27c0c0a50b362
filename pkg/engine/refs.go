package engine

import (
	"fmt"
	"strings"
)

// PodRef names a pod as given on the command line.
type PodRef struct {
	Namespace string // empty: the namespace from -n or the kubeconfig context
	Name      string
}

func (p PodRef) String() string { return p.Namespace + "/" + p.Name }

// ParsePodRef accepts NAME, pod/NAME (also pods/, po/) and NS/NAME.
func ParsePodRef(s string) (PodRef, error) {
	parts := strings.Split(s, "/")
	switch {
	case s == "":
		return PodRef{}, fmt.Errorf("empty pod name")
	case len(parts) == 1:
		return PodRef{Name: s}, checkName(s, s)
	case len(parts) == 2 && isPodResource(parts[0]):
		return PodRef{Name: parts[1]}, checkName(s, parts[1])
	case len(parts) == 2:
		if err := checkName(s, parts[0]); err != nil {
			return PodRef{}, err
		}
		return PodRef{Namespace: parts[0], Name: parts[1]}, checkName(s, parts[1])
	default:
		return PodRef{}, fmt.Errorf("invalid pod %q: use NAME, pod/NAME or NAMESPACE/NAME", s)
	}
}

func isPodResource(s string) bool {
	switch strings.ToLower(s) {
	case "pod", "pods", "po":
		return true
	}
	return false
}

func checkName(arg, part string) error {
	if part == "" || len(part) > 253 || strings.ToLower(part) != part || strings.ContainsAny(part, " :@") {
		return fmt.Errorf("invalid pod %q: %q is not a valid Kubernetes name (use NAME, pod/NAME or NAMESPACE/NAME)", arg, part)
	}
	return nil
}

// WorkloadRef names a workload whose pods are compared with each other (deploy/NAME).
type WorkloadRef struct {
	Kind string // canonical: deployment, statefulset, daemonset, replicaset
	Name string
}

var workloadKinds = map[string]string{
	"deploy": "deployment", "deployment": "deployment", "deployments": "deployment",
	"sts": "statefulset", "statefulset": "statefulset", "statefulsets": "statefulset",
	"ds": "daemonset", "daemonset": "daemonset", "daemonsets": "daemonset",
	"rs": "replicaset", "replicaset": "replicaset", "replicasets": "replicaset",
}

// ParseWorkloadRef recognises KIND/NAME for the workload kinds netdiff expands to pods.
// A namespace that happens to be called like a kind is given with -n instead.
func ParseWorkloadRef(s string) (WorkloadRef, bool) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(name, "/") {
		return WorkloadRef{}, false
	}
	canon, known := workloadKinds[strings.ToLower(kind)]
	if !known || checkName(s, name) != nil {
		return WorkloadRef{}, false
	}
	return WorkloadRef{Kind: canon, Name: name}, true
}
