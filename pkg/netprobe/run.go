package netprobe

import (
	"context"
	"sync"
	"time"
)

// windowMargin is kept free at the end of the probe window so results are assembled and
// returned before the prober's own deadline for the phase.
const windowMargin = 150 * time.Millisecond

// Deadline is when active probing must stop: the probe window (env.Timeout from start),
// or the context's deadline, whichever is first, less a margin.
func Deadline(ctx context.Context, start time.Time, window time.Duration) time.Time {
	d := start.Add(window)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d.Add(-windowMargin)
}

// Slot is the time one attempt may take so that every sequential attempt and the burst
// fit the window even when each one times out.
func Slot(start, deadline time.Time, attempts int) time.Duration {
	s := deadline.Sub(start) / time.Duration(attempts+1)
	return max(s, 10*time.Millisecond)
}

// Sequential runs n attempts one after another, each bounded by slot and the deadline,
// attempt i starting no earlier than i*every after the first (spread over the window, as
// the case study's connects were a second apart). Attempts that find the window closed
// are recorded as not run rather than dropped, so that "3/5" always means five were asked for.
func Sequential(ctx context.Context, n int, slot, every time.Duration, deadline time.Time, fn func(deadline time.Time) Attempt) []Attempt {
	out := make([]Attempt, 0, n)
	first := time.Now()
	for i := 0; i < n; i++ {
		if wait := time.Until(first.Add(time.Duration(i) * every)); every > 0 && wait > 0 && time.Now().Add(wait).Before(deadline) {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil || time.Until(deadline) <= 0 {
			out = append(out, notRun())
			continue
		}
		out = append(out, fn(earliest(time.Now().Add(slot), deadline)))
	}
	return out
}

// Burst releases n attempts at the same instant, like ten simultaneous aiohttp connects.
// It runs last, so each attempt may use the rest of the window: a burst overflows a small
// accept backlog, and the kernel's SYN retransmit (after 1 s, then 3 s) is part of a
// connect, not a failure of it.
func Burst(ctx context.Context, n int, deadline time.Time, fn func(deadline time.Time) Attempt) []Attempt {
	out := make([]Attempt, n)
	if ctx.Err() != nil || time.Until(deadline) <= 0 {
		for i := range out {
			out[i] = notRun()
		}
		return out
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			out[i] = fn(deadline)
		}(i)
	}
	close(gate)
	wg.Wait()
	return out
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func notRun() Attempt {
	return Attempt{Errno: "ETIMEDOUT", Stage: StageNotRun, Message: "not run: the probe window had ended"}
}
