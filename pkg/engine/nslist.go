package engine

import (
	"context"
	"sync"
)

// nsLists holds one List per namespace per run: a hundred pods of one namespace need one
// list of its NetworkPolicies (or Services), not a hundred (issue 18). The key may be
// another name (a node's, for its one-item read). The first pod of a
// namespace lists; the others wait for that, each within its own deadline. A list cut
// short by its lister's own deadline is not kept: the next pod lists again.
type nsLists[T any] struct {
	mu sync.Mutex
	m  map[string]*nsList[T]
}

type nsList[T any] struct {
	done  chan struct{}
	items []T
	err   error
	// cut: the lister's context ended during the list; its error is not the answer.
	cut bool
}

func (c *nsLists[T]) get(ctx context.Context, ns string, list func(context.Context, string) ([]T, error)) ([]T, error) {
	for {
		c.mu.Lock()
		l, ok := c.m[ns]
		if !ok {
			if c.m == nil {
				c.m = map[string]*nsList[T]{}
			}
			l = &nsList[T]{done: make(chan struct{})}
			c.m[ns] = l
		}
		c.mu.Unlock()
		if !ok {
			l.items, l.err = list(ctx, ns)
			if l.err != nil && ctx.Err() != nil {
				l.cut = true
				c.mu.Lock()
				delete(c.m, ns)
				c.mu.Unlock()
			}
			close(l.done)
			return l.items, l.err
		}
		select {
		case <-l.done:
			if !l.cut {
				return l.items, l.err
			}
			// Another pod's deadline ended its list: list again within ours.
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
