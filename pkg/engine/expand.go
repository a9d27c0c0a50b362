package engine

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// expand turns -l and KIND/NAME arguments into the pods they select, in name order, and
// appends them to r.pods (skipping duplicates).
func (r *run) expand(ctx context.Context) error {
	var selectors []string
	if r.Selector != "" {
		selectors = append(selectors, r.Selector)
	}
	for _, w := range r.Workloads {
		sel, err := r.workloadSelector(ctx, w)
		if err != nil {
			return err
		}
		selectors = append(selectors, sel)
	}
	seen := map[PodRef]bool{}
	for _, p := range r.pods {
		seen[p] = true
	}
	for _, sel := range selectors {
		list, err := r.client.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("list pods in namespace %s with selector %q: %w", r.Namespace, sel, err)
		}
		items := list.Items
		sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
		for _, p := range items {
			ref := PodRef{Namespace: p.Namespace, Name: p.Name}
			if !seen[ref] && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				seen[ref] = true
				r.pods = append(r.pods, ref)
			}
		}
	}
	if n := len(r.pods) + len(r.Files); n < 2 {
		return fmt.Errorf("the selection in namespace %s has %d pod(s): need at least two to compare (or use --reference with one pod)", r.Namespace, n)
	}
	return nil
}

func (r *run) workloadSelector(ctx context.Context, w WorkloadRef) (string, error) {
	apps := r.client.AppsV1()
	var sel *metav1.LabelSelector
	var err error
	switch w.Kind {
	case "deployment":
		d, e := apps.Deployments(r.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			sel = d.Spec.Selector
		}
	case "statefulset":
		s, e := apps.StatefulSets(r.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			sel = s.Spec.Selector
		}
	case "daemonset":
		d, e := apps.DaemonSets(r.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			sel = d.Spec.Selector
		}
	case "replicaset":
		r, e := apps.ReplicaSets(r.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err = e; e == nil {
			sel = r.Spec.Selector
		}
	}
	if err != nil {
		return "", fmt.Errorf("get %s %s/%s: %w", w.Kind, r.Namespace, w.Name, err)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || s.String() == labels.Nothing().String() {
		return "", fmt.Errorf("%s %s/%s has no usable pod selector", w.Kind, r.Namespace, w.Name)
	}
	return s.String(), nil
}
