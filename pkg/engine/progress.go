package engine

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// windowProgress tells a user watching a terminal that a long --window is being waited
// out on purpose: elapsed and remaining time, and how many pods have reported.
type windowProgress struct {
	w       io.Writer
	mu      *sync.Mutex // shared with the per-pod progress lines
	window  time.Duration
	pods    int
	done    atomic.Int32
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// minProgressWindow: shorter windows end before a progress line would help.
const minProgressWindow = 10 * time.Second

// progressEvery: about six lines per window, none more often than every 5s.
func progressEvery(window time.Duration) time.Duration { return max(5*time.Second, window/6) }

func startWindowProgress(w io.Writer, mu *sync.Mutex, window, every time.Duration, pods int) *windowProgress {
	p := &windowProgress{w: w, mu: mu, window: window, pods: pods, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		start := time.Now()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.line(time.Since(start))
			}
		}
	}()
	return p
}

func (p *windowProgress) line(elapsed time.Duration) {
	left := p.window - elapsed
	state := fmt.Sprintf("about %s left", left.Round(time.Second))
	if left <= 0 {
		state = "window over, waiting for the reports"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "watching for %s: %s elapsed, %s (%d of %d pods reported)\n",
		p.window, elapsed.Round(time.Second), state, p.done.Load(), p.pods)
}

// podDone counts a pod whose probe has finished.
func (p *windowProgress) podDone() {
	if p != nil {
		p.done.Add(1)
	}
}

// end stops the lines; safe on a nil progress and more than once.
func (p *windowProgress) end() {
	if p != nil {
		p.once.Do(func() { close(p.stop) })
		<-p.stopped
	}
}
