package report

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// Error is a failure recorded as data: the errno name when there is one, so that two
// reports can be compared by cause ("ENETUNREACH") rather than by message wording.
type Error struct {
	Errno   string `json:"errno,omitempty"`
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
}

// ErrorOf converts err to an Error, finding a syscall errno anywhere in its chain.
// Timeouts without an errno become "ETIMEDOUT" so they line up with kernel timeouts.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Message: err.Error()}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		e.Errno, e.Code = errnoName(errno), int(errno)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		e.Errno, e.Code = "ETIMEDOUT", codeETIMEDOUT
	}
	return e
}

// Name is the short form used in facts: the errno name, else the message.
func (e *Error) Name() string {
	if e == nil {
		return ""
	}
	if e.Errno != "" {
		return e.Errno
	}
	return e.Message
}
