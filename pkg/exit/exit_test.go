package exit

import (
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	for _, tt := range []struct {
		err    error
		code   int
		silent bool
	}{
		{nil, 0, false},
		{Status(1), 1, true},
		{fmt.Errorf("run: %w", Status(3)), 3, true},
		{errors.New("boom"), 2, false},
	} {
		if got := Code(tt.err, 2); got != tt.code {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.code)
		}
		if got := Silent(tt.err); got != tt.silent {
			t.Errorf("Silent(%v) = %v, want %v", tt.err, got, tt.silent)
		}
	}
}
