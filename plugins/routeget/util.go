package routeget

import (
	"errors"
	"syscall"
)

func asErrno(err error, target *syscall.Errno) bool { return errors.As(err, target) }
