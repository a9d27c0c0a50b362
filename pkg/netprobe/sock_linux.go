package netprobe

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Sockaddr builds the socket address family and sockaddr for ip:port.
func Sockaddr(ip netip.Addr, port int) (int, unix.Sockaddr) {
	ip = ip.Unmap()
	if ip.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	sa := &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		} else if ifi, err := interfaceIndex(z); err == nil {
			sa.ZoneId = uint32(ifi)
		}
	}
	return unix.AF_INET6, sa
}

// OnConnected runs on a connected socket before it is closed (path MTU is read this way).
type OnConnected func(fd int)

// ConnectNonblocking is the case study's sequence, syscall for syscall:
// socket(SOCK_NONBLOCK), connect → EINPROGRESS or an immediate errno, poll(POLLOUT) until
// the deadline, getsockopt(SO_ERROR).
func ConnectNonblocking(ip netip.Addr, port int, deadline time.Time, on OnConnected) Attempt {
	if time.Until(deadline) <= 0 {
		return notRun()
	}
	if !acquire(deadline) {
		return notRun()
	}
	defer release()
	start := time.Now()
	af, sa := Sockaddr(ip, port)
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return failed(start, "socket", err, StageImmediate)
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
		// Loopback may complete at once; that is a success, not an anomaly.
	case errors.Is(err, unix.EINPROGRESS):
		if a, done := waitConnected(fd, start, deadline); done {
			return a
		}
	default:
		return failed(start, "connect", err, StageImmediate)
	}
	if on != nil {
		on(fd)
	}
	return Attempt{OK: true, Dur: time.Since(start)}
}

// ConnectBlocking is a plain blocking connect, as a blocking Python socket makes it.
// SO_SNDTIMEO bounds it: the kernel then gives up with EINPROGRESS at the deadline.
func ConnectBlocking(ip netip.Addr, port int, deadline time.Time, on OnConnected) Attempt {
	if time.Until(deadline) <= 0 || !acquire(deadline) {
		return notRun()
	}
	defer release()
	left := time.Until(deadline)
	if left <= 0 {
		return notRun()
	}
	start := time.Now()
	af, sa := Sockaddr(ip, port)
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return failed(start, "socket", err, StageImmediate)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(left.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return failed(start, "setsockopt SO_SNDTIMEO", err, StageImmediate)
	}
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
	case errors.Is(err, unix.EINPROGRESS):
		return Attempt{Errno: "ETIMEDOUT", Stage: StageTimeout, Message: "connect: no answer before the probe deadline", Dur: time.Since(start)}
	case errors.Is(err, unix.EINTR), errors.Is(err, unix.EALREADY):
		// A signal cut the wait short; the handshake goes on, so finish it by polling.
		// The Go runtime's preemption signal (SIGURG) lands here more often the longer the
		// probe runs; the result must read as a blocking connect's, not a poll's.
		if a, done := waitConnected(fd, start, deadline); done {
			if a.Stage == StagePoll {
				a.Stage = ""
			}
			return a
		}
	default:
		// A blocking connect fails either at once or after the handshake: the kernel does
		// not tell which, so the time taken is the evidence (see LatencyMs).
		return failed(start, "connect", err, "")
	}
	if on != nil {
		on(fd)
	}
	return Attempt{OK: true, Dur: time.Since(start)}
}

// waitConnected polls for POLLOUT until the deadline and reads SO_ERROR. done is false
// when the socket connected.
func waitConnected(fd int, start, deadline time.Time) (Attempt, bool) {
	ready, err := poll(fd, unix.POLLOUT, deadline)
	if err != nil {
		return failed(start, "poll", err, StagePoll), true
	}
	if !ready {
		return Attempt{Errno: "ETIMEDOUT", Stage: StageTimeout, Message: "connect: no answer before the probe deadline", Dur: time.Since(start)}, true
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return failed(start, "getsockopt SO_ERROR", err, StagePoll), true
	}
	if soerr != 0 {
		return failed(start, "connect", unix.Errno(soerr), StagePoll), true
	}
	return Attempt{}, false
}

// poll waits for events on fd until the deadline, riding out EINTR.
func poll(fd int, events int16, deadline time.Time) (bool, error) {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		ms := int((left + time.Millisecond - 1) / time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
}

// udpPayload is what a UDP probe sends: small, and obviously from a diagnostic tool.
var udpPayload = []byte("netdiff-probe\n")

// ProbeUDP connects a UDP socket, sends one datagram and waits up to wait for an answer.
// ECONNREFUSED means an ICMP port unreachable came back; silence ("no-reply") is what an
// open port that ignores junk and a filtered port both look like.
func ProbeUDP(ip netip.Addr, port int, deadline time.Time, wait time.Duration) Attempt {
	if time.Until(deadline) <= 0 {
		return notRun()
	}
	if !acquire(deadline) {
		return notRun()
	}
	defer release()
	start := time.Now()
	af, sa := Sockaddr(ip, port)
	fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return failed(start, "socket", err, StageImmediate)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, sa); err != nil {
		return failed(start, "connect", err, StageImmediate)
	}
	if _, err := unix.Write(fd, udpPayload); err != nil {
		return failed(start, "send", err, StageImmediate)
	}
	until := start.Add(wait)
	if deadline.Before(until) {
		until = deadline
	}
	ready, err := poll(fd, unix.POLLIN, until)
	if err != nil {
		return failed(start, "poll", err, StagePoll)
	}
	if !ready {
		return Attempt{Errno: UDPNoReply, Message: fmt.Sprintf("no reply within %s", wait), Dur: time.Since(start)}
	}
	buf := make([]byte, 512)
	if _, err := unix.Read(fd, buf); err != nil {
		return failed(start, "recv", err, StagePoll)
	}
	return Attempt{OK: true, Dur: time.Since(start)}
}

func failed(start time.Time, op string, err error, stage string) Attempt {
	a := Attempt{Errno: err.Error(), Stage: stage, Message: op + ": " + err.Error(), Dur: time.Since(start)}
	var errno unix.Errno
	if errors.As(err, &errno) {
		a.Errno = unix.ErrnoName(errno)
	}
	return a
}
