//go:build unix

package report

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// codeETIMEDOUT is this system's number for ETIMEDOUT (110 on Linux, where reports are written).
const codeETIMEDOUT = int(unix.ETIMEDOUT)

func errnoName(errno syscall.Errno) string { return unix.ErrnoName(errno) }
