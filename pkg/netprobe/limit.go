package netprobe

import "time"

// MaxInFlight bounds attempts that hold an OS thread at once (a blocking connect, a
// poll): with many targets and a large --burst, unbounded they would exhaust the Go
// runtime's 10000 threads and the app's memory limit. A burst larger than this is not
// simultaneous anyway.
const MaxInFlight = 256

var inFlight = make(chan struct{}, MaxInFlight)

// acquire takes a slot before the deadline; false means the attempt cannot run in time.
func acquire(deadline time.Time) bool {
	select {
	case inFlight <- struct{}{}:
		return true
	default:
	}
	left := time.Until(deadline)
	if left <= 0 {
		return false
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case inFlight <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func release() { <-inFlight }
