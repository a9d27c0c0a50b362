package engine

import (
	"context"
	"errors"
	"testing"
)

// A list cut short by its lister's own deadline is not the namespace's answer: a pod
// waiting for it, or coming later, lists again; a real error is shared.
func TestNSListsRetryAfterAnotherPodsDeadline(t *testing.T) {
	var c nsLists[string]
	calls := 0
	cut, cancel := context.WithCancel(context.Background())
	cancel()
	list := func(ctx context.Context, ns string) ([]string, error) {
		calls++
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []string{ns + "-x"}, nil
	}
	if _, err := c.get(cut, "apps", list); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled lister got %v", err)
	}
	items, err := c.get(context.Background(), "apps", list)
	if err != nil || len(items) != 1 || calls != 2 {
		t.Fatalf("after a cut list: %v, %v, %d calls; want a new list", items, err, calls)
	}
	if _, err := c.get(context.Background(), "apps", list); err != nil || calls != 2 {
		t.Fatalf("a good list was not kept: %v, %d calls", err, calls)
	}
	refused := errors.New("forbidden")
	if _, err := c.get(context.Background(), "other", func(context.Context, string) ([]string, error) { calls++; return nil, refused }); err != refused {
		t.Fatal(err)
	}
	if _, err := c.get(context.Background(), "other", list); err != refused || calls != 3 {
		t.Fatalf("a refusal was not shared: %v, %d calls", err, calls)
	}
}
