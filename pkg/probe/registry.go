package probe

import "github.com/netdiff/kubectl-netdiff/pkg/registry"

var factories = registry.New[func() Plugin]("probe plugin")

// Register adds a plugin factory; plugins call it from init. A fresh instance is made per
// collection so plugins may keep state between Begin and Collect.
func Register(name string, f func() Plugin) { factories.Register(name, f) }

// New returns fresh instances of every registered plugin, sorted by name.
func New() []Plugin {
	all := factories.Sorted()
	out := make([]Plugin, 0, len(all))
	for _, e := range all {
		out = append(out, e.Value())
	}
	return out
}

// Lookup returns a fresh instance of the named plugin, for reading its section.
func Lookup(name string) (Plugin, bool) {
	f, ok := factories.Lookup(name)
	if !ok {
		return nil, false
	}
	return f(), true
}
