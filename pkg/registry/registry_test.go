package registry

import (
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("test value")
	r.Register("b", 2)
	r.Register("a", 1)
	if v, ok := r.Lookup("a"); !ok || v != 1 {
		t.Errorf("Lookup(a) = %d, %v", v, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c) found something")
	}
	got := r.Sorted()
	if len(got) != 2 || got[0].Name != "a" || got[1].Value != 2 {
		t.Errorf("Sorted = %+v", got)
	}
	defer func() {
		p := recover()
		if s, _ := p.(string); !strings.Contains(s, `test value "a" registered twice`) {
			t.Errorf("second Register(a): panic %v", p)
		}
	}()
	r.Register("a", 3)
}
