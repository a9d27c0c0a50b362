// Command holder opens sockets the way an app under test would and holds them until
// killed, so the sockets plugin can be tested on a real kernel table. It prints "ready"
// once every socket exists.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// keep holds every socket: a net.Conn nobody references is closed by its finalizer.
var keep []any

func main() {
	var (
		dev     = flag.String("dev", "", "SO_BINDTODEVICE for -connect")
		mark    = flag.Int("mark", 0, "SO_MARK for -connect")
		connect = flag.String("connect", "", "TCP address to connect to")
		n       = flag.Int("n", 1, "how many connects; they do not wait for an answer")
		listen6 = flag.String("listen6", "", "IPv6-only TCP listen address, e.g. [::]:8080")
		listen  = flag.String("listen", "", "dual-stack TCP listen address, e.g. [::]:8080")
		udp     = flag.String("udp", "", "IPv4 UDP address to bind, unconnected")
		udp6    = flag.String("udp6", "", "UDP address to bind, IPv6 only")
		raw     = flag.Bool("raw", false, "open a raw ICMP and a raw ICMPv6 socket")
	)
	flag.Parse()
	control := func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if *dev != "" {
				serr = unix.BindToDevice(int(fd), *dev)
			}
			if serr == nil && *mark != 0 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, *mark)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	if *listen6 != "" {
		ln, err := net.Listen("tcp6", *listen6) // Go sets IPV6_V6ONLY for "tcp6"
		check(err)
		keep = append(keep, ln)
	}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		check(err)
		keep = append(keep, ln)
	}
	if *udp != "" {
		pc, err := net.ListenPacket("udp4", *udp)
		check(err)
		keep = append(keep, pc)
	}
	if *udp6 != "" {
		pc, err := net.ListenPacket("udp6", *udp6)
		check(err)
		keep = append(keep, pc)
	}
	if *raw {
		for _, fp := range [][2]int{{unix.AF_INET, unix.IPPROTO_ICMP}, {unix.AF_INET6, unix.IPPROTO_ICMPV6}} {
			fd, err := unix.Socket(fp[0], unix.SOCK_RAW, fp[1])
			check(err)
			keep = append(keep, fd)
		}
	}
	if *connect != "" {
		d := net.Dialer{Control: control}
		ready := make(chan error, *n)
		var mu sync.Mutex
		for range *n {
			go func() {
				c, err := d.DialContext(context.Background(), "tcp", *connect)
				if err == nil {
					mu.Lock()
					keep = append(keep, c)
					mu.Unlock()
				}
				ready <- err
			}()
		}
		// A connect that gets no answer stays in SYN-SENT; give it a moment to be sent.
		deadline := time.After(500 * time.Millisecond)
	wait:
		for range *n {
			select {
			case err := <-ready:
				check(err)
			case <-deadline:
				break wait
			}
		}
	}
	fmt.Println("ready")
	// Not select{}: with nothing else to wait for, the runtime calls that a deadlock and exits.
	for {
		time.Sleep(time.Hour)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(1)
	}
}
