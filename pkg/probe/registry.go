package probe

import (
	"fmt"
	"sort"
	"sync"
)

var (
	mu        sync.RWMutex
	factories = map[string]func() Plugin{}
)

// Register adds a plugin factory; plugins call it from init. A fresh instance is made per
// collection so plugins may keep state between Begin and Collect.
func Register(name string, f func() Plugin) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic(fmt.Sprintf("probe: plugin %q registered twice", name))
	}
	factories[name] = f
}

// New returns fresh instances of every registered plugin, sorted by name.
func New() []Plugin {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Plugin, 0, len(factories))
	for _, f := range factories {
		out = append(out, f())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Lookup returns a fresh instance of the named plugin, for reading its section.
func Lookup(name string) (Plugin, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := factories[name]
	if !ok {
		return nil, false
	}
	return f(), true
}
