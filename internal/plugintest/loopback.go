package plugintest

import (
	"net"
	"os"
	"strings"
	"testing"
)

// LoopbackPort opens a TCP listener on 127.0.0.1 that accepts and at once closes every
// connection, and returns its port. The listener is closed at cleanup.
func LoopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// OpenSockets counts this process's open sockets, so that a test can prove it leaked none.
// It skips the test where /proc/self/fd cannot be read.
func OpenSockets(t testing.TB) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range es {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
