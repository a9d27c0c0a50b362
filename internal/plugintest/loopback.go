package plugintest

import (
	"net"
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
