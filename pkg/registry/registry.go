// Package registry is the one registry type every registry of the tree uses (probe
// plugins, finding rules, diagnosis analyses, as-app tasks): values by unique name, filled
// from init functions, read concurrently afterwards, listed in name order.
package registry

import (
	"fmt"
	"sort"
	"sync"
)

// Registry holds values of one kind by name.
type Registry[T any] struct {
	// what names the kind in the panic of a name registered twice ("probe plugin").
	what string
	mu   sync.RWMutex
	m    map[string]T
}

// New makes an empty registry of what.
func New[T any](what string) *Registry[T] {
	return &Registry[T]{what: what, m: map[string]T{}}
}

// Register adds v under name. A name registered twice is a programming error that any
// test finds: it panics.
func (r *Registry[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("%s %q registered twice", r.what, name))
	}
	r.m[name] = v
}

// Lookup returns the value registered under name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[name]
	return v, ok
}

// Entry is one registered value and its name.
type Entry[T any] struct {
	Name  string
	Value T
}

// Sorted lists every entry in name order, so output built from it is stable.
func (r *Registry[T]) Sorted() []Entry[T] {
	r.mu.RLock()
	out := make([]Entry[T], 0, len(r.m))
	for n, v := range r.m {
		out = append(out, Entry[T]{n, v})
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
