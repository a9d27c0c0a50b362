// Package exit carries a process exit status through cobra's error return: both
// binaries' mains turn the error their command returns into the status with Code.
package exit

import (
	"errors"
	"fmt"
)

// Status is an error that only carries an exit status: whoever returns it has said why
// already (kubectl netdiff's differences, a prober run in a container's namespaces).
type Status int

func (s Status) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// Code is the exit status for the error a command returned: 0 for nil, a Status's own,
// else failure.
func Code(err error, failure int) int {
	if err == nil {
		return 0
	}
	var s Status
	if errors.As(err, &s) {
		return int(s)
	}
	return failure
}

// Silent tells whether err only carries an exit status and needs no message.
func Silent(err error) bool {
	var s Status
	return errors.As(err, &s)
}
