package drops

import (
	"sort"
)

// joinNode is the drops section of a pod probed from an ephemeral container with
// --node-side: the pod's own watch (its namespace, under --profile bpf; unavailable
// otherwise) and the node pod's, which watched the node's namespace for the pod's
// addresses while the pod's probes ran. Each namespace keeps its own drops; a watch that
// did not run says why under namespaceErrors, by role.
func joinNode(own, node *Section, nodeErr string) *Section {
	out := &Section{Drops: []Drop{}, NamespaceErrors: map[string]string{}}
	if own != nil {
		*out = *own
		out.Drops = append([]Drop{}, own.Drops...)
		out.NamespaceErrors = map[string]string{}
		for k, v := range own.NamespaceErrors {
			out.NamespaceErrors[k] = v
		}
		out.Namespaces = append([]Namespace{}, own.Namespaces...)
	}
	if own == nil || own.Unavailable != nil {
		// The pod's namespace was not watched: the node's watch, if any, is the section's.
		why := "the pod's report has no drops section"
		if own != nil {
			why = own.Unavailable.Message
		}
		out.NamespaceErrors["pod"] = why
	}
	switch {
	case node == nil:
		if nodeErr == "" {
			nodeErr = "the node pod reported no drops section"
		}
		out.NamespaceErrors["node"] = nodeErr
	case node.Unavailable != nil:
		out.NamespaceErrors["node"] = "the node pod could not watch: " + node.Unavailable.Message
	default:
		if out.Unavailable != nil || own == nil {
			// The section is the node's watch, with the pod's reason kept above.
			out.Unavailable = nil
			out.Watch, out.Reasons, out.WindowMS, out.Symbols = node.Watch, node.Reasons, node.WindowMS, node.Symbols
		}
		for _, n := range node.Namespaces {
			if n.Role == "node" {
				out.Namespaces = append(out.Namespaces, n)
			}
		}
		for k, v := range node.NamespaceErrors {
			if k == "node" {
				out.NamespaceErrors[k] = v
			}
		}
		for _, d := range node.Drops {
			if d.Netns == "node" {
				out.Drops = append(out.Drops, d)
			}
		}
		out.Total += node.Total
		out.Truncated = out.Truncated || node.Truncated
		out.Unwatched += node.Unwatched
		out.Lost += node.Lost
		if out.Symbols == "" {
			out.Symbols = node.Symbols
		}
	}
	if len(out.NamespaceErrors) == 0 {
		out.NamespaceErrors = nil
	}
	sort.SliceStable(out.Drops, func(a, b int) bool { return out.Drops[a].Key() < out.Drops[b].Key() })
	return out
}
