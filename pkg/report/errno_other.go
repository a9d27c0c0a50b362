//go:build !unix

package report

import "syscall"

// codeETIMEDOUT is Linux's number, so that a timeout recorded here reads like one in the
// reports the (Linux-only) prober writes.
const codeETIMEDOUT = 110

// errnoName has no table of names off Unix: the code and message still say what failed,
// and Error.Name falls back to the message.
func errnoName(syscall.Errno) string { return "" }
