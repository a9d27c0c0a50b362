package safe

import (
	"errors"
	"testing"
)

func TestCall(t *testing.T) {
	v, err := Call(func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Errorf("Call = %d, %v", v, err)
	}
	want := errors.New("plain")
	if _, err := Call(func() (int, error) { return 0, want }); err != want {
		t.Errorf("error = %v", err)
	}
	v, err = Call(func() (int, error) {
		var m map[string]int
		m["x"] = 1
		return 1, nil
	})
	if v != 0 || err == nil || err.Error() != "panic: assignment to entry in nil map" {
		t.Errorf("panic: %d, %v", v, err)
	}
}
