// Package safe runs code that belongs to a plugin (a collector, a section's facts, a
// finding rule) so that a panic in it costs only its own result: the panic comes back as
// an error naming it, and the caller reports it like any failure.
package safe

import (
	"fmt"
	"runtime/debug"
)

// Stacks adds the panicking goroutine's stack to the error; tests of plugins may set it.
var Stacks = false

// Call runs fn and returns its results, or the zero value and an error "panic: …" when
// fn panics.
func Call[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, fmt.Errorf("panic: %v", p)
			if Stacks {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}
	}()
	return fn()
}
