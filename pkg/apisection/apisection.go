// Package apisection is how a section read from the Kubernetes API declares itself: a
// section descriptor like any plugin's (facts, rules, its part in the diagnosis) and,
// instead of a collector in the prober, a reader kubectl-netdiff runs for each pod once
// the prober's report is back. The engine runs every registered reader and names none.
//
// Sections registered here are linked only into kubectl-netdiff (through
// plugins/all/cluster): the prober imports no Kubernetes package.
package apisection

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/registry"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// Input is what a reader is given for one pod.
type Input struct {
	// Pod is the pod compared; Peers are the other pods of the comparison.
	Pod   *corev1.Pod
	Peers []*corev1.Pod
	// Report is the prober's report of the pod: the targets its probes reached.
	Report *report.Report
	// Lister reads the API, each namespace's lists once per run for every reader and pod.
	Lister Lister
	// OwnContainerPrefix names netdiff's own ephemeral containers, which are no part of
	// the pod's facts.
	OwnContainerPrefix string
}

// Lister is what readers may list. Any read may be refused (RBAC): a reader then says
// what is unknown, never guesses.
type Lister interface {
	Services(ctx context.Context, ns string) ([]corev1.Service, error)
	EndpointSlices(ctx context.Context, ns string) ([]discoveryv1.EndpointSlice, error)
	Pods(ctx context.Context, ns string) ([]corev1.Pod, error)
	// PodsByIP returns the pods of any namespace holding the address.
	PodsByIP(ctx context.Context, ip string) ([]corev1.Pod, error)
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
	NetworkPolicies(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error)
	// CalicoPolicies lists Calico's NetworkPolicies of a namespace, or with ns "" its
	// GlobalNetworkPolicies; none and no error where the API does not serve them.
	CalicoPolicies(ctx context.Context, ns string) ([]netpol.CalicoPolicy, error)
}

// Reader fills a section for one pod. A nil section with a nil error means there was
// nothing to read (the section is left out); an error is the section's Problem.
type Reader func(ctx context.Context, in *Input) (any, error)

var readers = registry.New[Reader]("API section")

// Register adds a section read from the API: d as section.Register takes it (without a
// collector: the prober never fills it) and read, which fills it.
func Register[S any](d section.Descriptor[S], read func(ctx context.Context, in *Input) (*S, error)) {
	if d.Collector != nil {
		panic("apisection: " + d.Name + " has a prober collector: register it with section.Register")
	}
	section.Register(d)
	readers.Register(d.Name, func(ctx context.Context, in *Input) (any, error) {
		s, err := read(ctx, in)
		if err != nil || s == nil {
			return nil, err // a typed nil would encode as a section holding null
		}
		return s, nil
	})
}

// Readers lists the registered readers in section-name order.
func Readers() []registry.Entry[Reader] { return readers.Sorted() }
